package decoupleprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      component.ID
		want    func(*Config)
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: func(*Config) {}},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: func(c *Config) {
				c.Directory = "/var/spool/otel"
				c.MaxSize, c.MaxRequestSize = 1<<20, 64<<10
				c.Retry = RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute, Multiplier: 1.5}
				c.ShutdownTimeout = 500 * time.Millisecond
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad"),
			wantErr: "max_size: must be positive, got 0\n" +
				"max_request_size: must be positive and at most max_size (0), got -1\n" +
				"retry.initial_interval: must be positive, got 0s\n" +
				"retry.max_interval: must be at least retry.initial_interval (0s), got -1s\n" +
				"retry.multiplier: must be at least 1, got 0.5\n" +
				"retry.jitter: must be in [0, 1), got 1\n" +
				"shutdown_timeout: must not be negative, got -1s",
		},
		{id: component.NewIDWithName(metadata.Type, "request_over_size"), wantErr: "max_request_size: must be positive and at most max_size (1000), got 1001"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.wantErr != "" {
				assert.EqualError(t, cfg.Validate(), tt.wantErr)
				return
			}
			require.NoError(t, cfg.Validate())
			want := createDefaultConfig()
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	require.NoError(t, cfg.Validate())
	assert.Empty(t, cfg.Directory, "resolved at Start from the component id")
	assert.Equal(t, int64(128<<20), cfg.MaxSize)
	assert.Equal(t, int64(1<<20), cfg.MaxRequestSize)
	assert.Equal(t, RetryConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: 30 * time.Second, Multiplier: 2, Jitter: 0.2}, cfg.Retry)
	assert.Equal(t, time.Second, cfg.ShutdownTimeout)
}
