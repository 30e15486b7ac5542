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
				c.TraceContext = []TraceCandidate{{TraceID: "dd.trace_id", SpanID: "dd.span_id", Encoding: encodingDatadog}, {TraceID: "traceparent"}}
				c.Severity = SeverityConfig{Fields: []string{"lvl"}, NumberScheme: "python", Implied: []ImpliedLevel{{Field: "alarm", Level: "warn"}}}
				c.TimestampFields = []string{"when"}
				c.TimestampZone = "Europe/Berlin"
				c.BodyFields = []string{"text"}
				c.RequestIDFields = []string{"req"}
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
		{id: component.NewIDWithName(metadata.Type, "bad_encoding"), wantErr: `trace_context[0]::encoding: "base64" is not one of "", datadog`},
		{id: component.NewIDWithName(metadata.Type, "bad_separator"), wantErr: "flatten::separator must not be empty"},
		{id: component.NewIDWithName(metadata.Type, "bad_implied"), wantErr: "severity::implied[0]::field: empty field name\nseverity::implied[0]::level: \"loud\" is not a known level word"},
		{id: component.NewIDWithName(metadata.Type, "bad_zone"), wantErr: "timestamp_zone: unknown time zone Mars/Olympus_Mons"},
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
