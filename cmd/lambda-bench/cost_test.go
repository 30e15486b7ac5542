package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 30; i++ {
		d = append(d, time.Duration(31-i)*time.Millisecond)
	}
	assert.Equal(t, 15*time.Millisecond, percentile(d, 0.5))
	assert.Equal(t, 30*time.Millisecond, percentile(d, 0.99), "p99 of 30 samples is the largest")
	assert.Equal(t, 30*time.Millisecond, d[0], "the input is not sorted in place")
	assert.Zero(t, percentile(nil, 0.5))
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) { // burn a few ticks
	}
	assert.Positive(t, cpuTime(os.Getpid()))
	assert.Zero(t, cpuTime(-1))
}

func TestParseList(t *testing.T) {
	modes, err := parseList("ok, refuse,hang,429:2,", faultbackend.ParseMode)
	require.NoError(t, err)
	assert.Equal(t, []faultbackend.Mode{faultbackend.OK(), faultbackend.Refuse(), faultbackend.Hang(), faultbackend.Throttle(2 * time.Second)}, modes)
	_, err = parseList("ok,down", faultbackend.ParseMode)
	assert.Error(t, err)
	d, err := parseList("100ms,2s", time.ParseDuration)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 2 * time.Second}, d)
}
