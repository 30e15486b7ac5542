package lambdatelemetryreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/lambda-o11y/otelcol-lambda/internal/configuri"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		name    string
		want    *Config
		wantErr string
	}{
		{name: "", want: createDefaultConfig().(*Config)},
		{name: "custom", want: &Config{
			Endpoint:           "127.0.0.1:4400",
			SchemaVersion:      "2022-12-13",
			Types:              []string{"platform", "function"},
			Buffering:          BufferingConfig{MaxItems: 2000, MaxBytes: 524288, TimeoutMs: 100},
			MaxRequestBodySize: 2 << 20,
			HeapReleaseSlack:   0,
			PlatformLogs:       true,
			MaxRecordBytes:     1024,
			MetricsTemporality: "delta",
			Flush: FlushConfig{
				Strategy: StrategyPeriodic, ExportBudget: 20 * time.Millisecond, Interval: 30 * time.Second,
				Adaptive:         AdaptiveConfig{Warmup: 5, IdleGap: 2 * time.Minute, MaxLag: 3 * time.Second},
				RuntimeDoneGrace: time.Second, MaxWait: 30 * time.Second, MaxPendingRecords: 500,
			},
			Shutdown: ShutdownConfig{ReportWait: 100 * time.Millisecond, Margin: 300 * time.Millisecond},
		}},
		{name: "bad_types", wantErr: `types: "logs" is not one of`},
		{name: "bad_buffering", wantErr: "buffering.timeout_ms: 10 is outside"},
		{name: "small_body", wantErr: "max_request_body_size: 1048576 is below 2 x buffering.max_bytes (2097152)"},
		{name: "bad_heap_release", wantErr: "heap_release_slack: must not be negative"},
		{name: "bad_endpoint", wantErr: `endpoint: "localhost" is not host:port`},
		{name: "reserved_port", wantErr: "9001 is reserved"},
		{name: "bad_schema", wantErr: `schema_version: "2021-01-01"`},
		{name: "bad_temporality", wantErr: "metrics_temporality"},
		{name: "bad_flush", wantErr: "flush.max_wait"},
		{name: "bad_budget", wantErr: "flush.export_budget: must be positive"},
		{name: "bad_warmup", wantErr: "flush.adaptive.warmup: must be at least 1"},
		{name: "bad_strategy", wantErr: `unknown flush strategy "sometimes" (one of [end periodic continuous adaptive])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestWithDefaultConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	inLambda := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"outside lambda", []string{"otelcol"}, nil, []string{"otelcol"}},
		{"layer default", []string{"otelcol"}, inLambda, []string{"otelcol", "--config=" + configuri.Layer}},
		{"env uri", []string{"otelcol"}, map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", configuri.Env: "s3://b/c.yaml"}, []string{"otelcol", "--config=s3://b/c.yaml"}},
		{"explicit flag kept", []string{"otelcol", "--config", "f.yaml"}, inLambda, []string{"otelcol", "--config", "f.yaml"}},
		{"explicit flag= kept", []string{"otelcol", "--config=f.yaml"}, inLambda, []string{"otelcol", "--config=f.yaml"}},
		{"other flags kept", []string{"otelcol", "--feature-gates=x"}, inLambda, []string{"otelcol", "--config=" + configuri.Layer, "--feature-gates=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, withDefaultConfig(tt.args, env(tt.env)))
		})
	}
}
