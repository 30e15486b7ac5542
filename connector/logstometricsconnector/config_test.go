package logstometricsconnector

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.yaml.in/yaml/v3"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/fieldpath"
	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/metadata"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
)

func path(t *testing.T, text string) fieldpath.Path {
	t.Helper()
	p, err := fieldpath.Parse(text)
	require.NoError(t, err)
	return p
}

// loadConfig reads one named section of a testdata file over the defaults
// and validates it as the collector does at start-up.
func loadConfig(t *testing.T, file, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		want *Config
	}{
		{
			name: "seed",
			want: &Config{
				ErrorMode:        ottl.IgnoreError,
				CardinalityLimit: defaultCardinalityLimit,
				Rules: []RuleConfig{{
					Name:        "inference_duration_ms",
					Description: "Duration of successful inferences.",
					Unit:        "ms",
					Kind:        KindHistogram,
					Conditions:  []string{`attributes["event"] == "inference_success"`},
					Value:       path(t, `attributes["duration_ms"]`),
					Buckets:     []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
					Attributes:  []AttributeConfig{{Key: "service"}, {Key: "model_name"}, {Key: "label"}},
				}},
			},
		},
		{
			name: "full",
			want: &Config{
				ErrorMode:        ottl.PropagateError,
				FlushInterval:    30 * time.Second,
				CardinalityLimit: 100,
				MaxStale:         5 * time.Minute,
				Rules: []RuleConfig{
					{
						Name:        "inference_count",
						Kind:        KindCounter,
						Temporality: TemporalityDelta,
						Conditions: []string{
							`log.attributes["event"] == "inference_success"`,
							`IsMatch(attributes["event"], "^inference_")`,
						},
						Attributes: []AttributeConfig{
							{Key: "event"},
							{Key: "function", Field: path(t, `resource.attributes["service.name"]`)},
							{Key: "label", DefaultValue: "none"},
							{Key: "source", Value: "lambda"},
						},
					},
					{Name: "init_ms", Kind: KindExponentialHistogram, MaxSize: 40, CardinalityLimit: 5, Value: path(t, `body["latency"]["init_ms"]`)},
					{Name: "queue_depth", Kind: KindGauge, Value: path(t, `attributes["queue_depth"]`)},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(t, "config.yaml", tt.name)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"no_rules", "rules: at least one rule is required"},
		{"no_name", `rules[0] "": name: required`},
		{"no_kind", `rules[0] "x": kind: required`},
		{"bad_kind", `unknown kind "summary"`},
		{"bad_temporality", `unknown temporality "monthly"`},
		{"histogram_without_value", `rules[0] "x": value: required for kind histogram`},
		{"bad_value_path", `path "duration_ms" must start with attributes`},
		{"unsorted_buckets", `rules[0] "x": buckets: must be finite and strictly increasing`},
		{"buckets_on_counter", `rules[0] "x": buckets: only valid for kind histogram`},
		{"max_size_too_small", `rules[0] "x": max_size: must be between 2 and 16384`},
		{"bad_condition", `rules[0] "x": conditions: `},
		{"unknown_function", `rules[0] "x": conditions: `},
		{"duplicate_name", `rules[1] "x": name: another rule already produces this metric`},
		{"duplicate_attribute", `rules[0] "x": attributes[1].key: "a" appears twice`},
		{"fixed_and_field", `rules[0] "x": attributes[0].value: a fixed value excludes field and default_value`},
		{"reserved_attribute", `rules[0] "x": attributes[0].key: otel.metric.overflow is reserved`},
		{"bad_error_mode", "unknown error mode loud"},
		{"negative_max_stale", "max_stale: must not be negative"},
		{"zero_limit", "cardinality_limit: must be positive"},
		{"negative_rule_limit", `rules[0] "x": cardinality_limit: must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, "config_invalid.yaml", tt.name)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// The factory compiles with the same function as Validate and refuses a
// config that was never validated.
func TestFactoryRejectsInvalidConfig(t *testing.T) {
	cfg, err := loadConfig(t, "config_invalid.yaml", "unknown_function")
	require.Error(t, err)
	_, err = newTestConnector(t, cfg, nil)
	require.ErrorContains(t, err, `rules[0] "x": conditions: `)
	require.ErrorContains(t, err, "NoSuchFunc")
}

// Every connector config in the README is valid.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	n := 0
	for _, b := range blocks {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(b[1]), &doc))
		connectors, ok := doc["connectors"].(map[string]any)
		if !ok {
			continue
		}
		n++
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(connectors["logstometrics"].(map[string]any)).Unmarshal(cfg))
		require.NoError(t, confmap.Validate(cfg), b[1])
	}
	assert.Equal(t, 4, n, "README connector examples")
}
