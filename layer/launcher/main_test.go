package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lambda-o11y/otelcol-lambda/internal/configuri"
	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layerzip"
)

// The launcher's default must name the collector the layer ships (extracted
// under /opt); layer_test.go checks the config's.
func TestDefaultsMatchLayer(t *testing.T) {
	assert.Equal(t, "/opt/"+layerzip.CollectorPath, defaultCollector)
}

func TestConfigGap(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		gap  bool
	}{
		{name: "layer config, no endpoint", gap: true},
		{name: "layer config, empty endpoint", env: map[string]string{envEndpoint: " "}, gap: true},
		{name: "layer config named explicitly", env: map[string]string{configuri.Env: "/opt/collector-config/config.yaml"}, gap: true},
		{name: "layer config as a file URI", env: map[string]string{configuri.Env: "file:/opt/collector-config/config.yaml"}, gap: true},
		{name: "layer config, endpoint set", env: map[string]string{envEndpoint: "https://otlp.example.com:4318"}},
		{name: "own config", env: map[string]string{configuri.Env: "s3://bucket.s3.eu-west-1.amazonaws.com/config.yaml"}},
		{name: "config flag", args: []string{"--config=file:/tmp/c.yaml"}},
		{name: "config flag, separate value", args: []string{"--config", "/tmp/c.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gap := configGap(tt.args, func(k string) string { return tt.env[k] })
			if !tt.gap {
				assert.Empty(t, gap)
				return
			}
			assert.Contains(t, gap, envEndpoint+" is not set")
			assert.NotContains(t, gap, "\n", "one line")
		})
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "empty"},
		{name: "from the last Error line", writes: []string{"warn a\n", "Error: first\n", "info\nError: failed to get config:\n", "  details\n"},
			want: "Error: failed to get config:\n  details"},
		{name: "no Error line: everything", writes: []string{"panic: boom\n\ngoroutine 1 [running]:\n"}, want: "panic: boom\n\ngoroutine 1 [running]:"},
		{name: "a partial first line is dropped", writes: []string{strings.Repeat("x", tailSize-10) + "\nkept line\n", "last\n"},
			want: "kept line\nlast"},
		{name: "one write larger than the tail", writes: []string{"lost\n" + strings.Repeat("y", 2*tailSize) + "\nError: kept\n"}, want: "Error: kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl tail
			for _, w := range tt.writes {
				n, err := tl.Write([]byte(w))
				assert.NoError(t, err)
				assert.Equal(t, len(w), n)
			}
			assert.LessOrEqual(t, len(tl.b), tailSize)
			assert.Equal(t, tt.want, tl.lastError())
		})
	}
}

func TestGCSettings(t *testing.T) {
	gcOff := []string{"GOGC=off", "OTELCOL_LAMBDA_GOGC_WHEN_READY=100"}
	for _, tt := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, append([]string{"GOMEMLIMIT=256MiB"}, gcOff...)},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, append([]string{"GOMEMLIMIT=32MiB"}, gcOff...)},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOMEMLIMIT": "100MiB"}, gcOff},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOGC": "200"}, []string{"GOMEMLIMIT=256MiB"}},
		// No limit, no GC off: nothing would bound Init's heap.
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "x"}, nil},
		{map[string]string{}, nil},
	} {
		assert.Equal(t, tt.want, gcSettings(func(k string) string { return tt.env[k] }), "%v", tt.env)
	}
}
