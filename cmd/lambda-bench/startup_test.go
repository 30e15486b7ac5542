package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCandidate(t *testing.T) {
	c, err := parseCandidate("after=/l:/c")
	require.NoError(t, err)
	assert.Equal(t, candidate{name: "after", launcher: "/l", collector: "/c"}, c)

	c, err = parseCandidate("gc=/l:/c:GOGC=off,X=1")
	require.NoError(t, err)
	assert.Equal(t, candidate{name: "gc", launcher: "/l", collector: "/c", env: []string{"GOGC=off", "X=1"}}, c)

	for _, bad := range []string{"/l:/c", "name=/l"} {
		_, err := parseCandidate(bad)
		assert.Error(t, err, bad)
	}
}
