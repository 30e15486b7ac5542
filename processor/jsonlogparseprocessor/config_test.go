package jsonlogparseprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"
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
				c.SourceAttribute = "log.line"
				c.RuntimePrefixes = false
				c.TraceContext = []TraceCandidate{{TraceID: "dd.trace_id_hex", SpanID: "dd.span_id_hex"}, {TraceID: "traceparent"}}
				c.Severity = SeverityConfig{Fields: []string{"lvl"}, NumberScheme: "python"}
				c.TimestampFields = []string{"when"}
				c.BodyFields = []string{"text"}
				c.Flatten = FlattenConfig{Enabled: true, Separator: "_"}
				c.Limits = LimitsConfig{MaxDepth: 3, MaxAttributes: 50, MaxValueBytes: 1024}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "skywalking"),
			want: func(c *Config) {
				c.SkyWalking.Enabled = true
				c.SkyWalking.TraceIDAttribute = "sw_trace_id"
			},
		},
		{id: component.NewIDWithName(metadata.Type, "bad_scheme"), wantErr: `severity::number_scheme: "log4j" is not one of pino, python, syslog, otel`},
		{id: component.NewIDWithName(metadata.Type, "bad_limits"), wantErr: "limits::max_attributes must not be negative, got -1"},
		{id: component.NewIDWithName(metadata.Type, "bad_candidate"), wantErr: "trace_context[0]: trace_id must name a field"},
		{id: component.NewIDWithName(metadata.Type, "bad_separator"), wantErr: "flatten::separator must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.wantErr != "" {
				assert.ErrorContains(t, confmap.Validate(cfg), tt.wantErr)
				return
			}
			require.NoError(t, confmap.Validate(cfg))
			want := defaultConfig()
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}
