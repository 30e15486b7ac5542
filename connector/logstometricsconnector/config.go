package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric/noop"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/fieldpath"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
)

// Config is the connector's configuration.
type Config struct {
	// Rules each derive one metric.
	Rules []RuleConfig `mapstructure:"rules"`
	// ErrorMode decides what an OTTL condition that fails to evaluate does:
	// ignore (log, skip the record for that rule), silent, or propagate
	// (return a permanent error; the other records still count).
	ErrorMode ottl.ErrorMode `mapstructure:"error_mode"`
	// FlushInterval, when above zero, also emits on a timer. Off by default:
	// in Lambda the drain hook emits before every freeze.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// CardinalityLimit caps distinct attribute sets per metric and resource
	// for rules that do not set their own.
	CardinalityLimit int `mapstructure:"cardinality_limit"`
	// MaxStale, when above zero, forgets a cumulative series not updated
	// for this long, and a resource once it has no series left. Off by
	// default: a Lambda environment is one short-lived resource, while a
	// gateway hears from environments that come and go.
	MaxStale time.Duration `mapstructure:"max_stale"`
	_        struct{}
}

// Kind is the metric type a rule produces.
type Kind string

const (
	KindCounter              Kind = "counter"
	KindHistogram            Kind = "histogram"
	KindExponentialHistogram Kind = "exponential_histogram"
	KindGauge                Kind = "gauge"
)

// UnmarshalText rejects unknown kinds while the config is decoded.
func (k *Kind) UnmarshalText(text []byte) error {
	switch v := Kind(text); v {
	case KindCounter, KindHistogram, KindExponentialHistogram, KindGauge:
		*k = v
		return nil
	default:
		return fmt.Errorf("unknown kind %q (want counter, histogram, exponential_histogram or gauge)", text)
	}
}

// Temporality of a rule's metric. Empty means cumulative.
type Temporality string

const (
	TemporalityCumulative Temporality = "cumulative"
	TemporalityDelta      Temporality = "delta"
)

// UnmarshalText rejects unknown temporalities while the config is decoded.
func (t *Temporality) UnmarshalText(text []byte) error {
	switch v := Temporality(text); v {
	case TemporalityCumulative, TemporalityDelta:
		*t = v
		return nil
	default:
		return fmt.Errorf("unknown temporality %q (want delta or cumulative)", text)
	}
}

// RuleConfig derives one metric from the records that match its conditions.
type RuleConfig struct {
	// Name, Description and Unit of the metric.
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	Kind        Kind   `mapstructure:"kind"`
	// Conditions are OTTL log conditions, ORed; none means every record.
	Conditions []string `mapstructure:"conditions"`
	// Value is the field holding the number to record. Required except for
	// a counter, which then counts matching records.
	Value fieldpath.Path `mapstructure:"value"`
	// Buckets are a histogram's explicit upper bounds.
	Buckets []float64 `mapstructure:"buckets"`
	// MaxSize is an exponential histogram's bucket count per sign.
	MaxSize int32 `mapstructure:"max_size"`
	// Temporality is delta or cumulative (the default).
	Temporality Temporality `mapstructure:"temporality"`
	// CardinalityLimit overrides the connector's limit for this metric.
	CardinalityLimit int               `mapstructure:"cardinality_limit"`
	Attributes       []AttributeConfig `mapstructure:"attributes"`
	_                struct{}
}

// AttributeConfig is one attribute of the derived data points.
type AttributeConfig struct {
	// Key is the attribute's name on the data point.
	Key string `mapstructure:"key"`
	// Field is where the value comes from; it defaults to the record
	// attribute named Key.
	Field fieldpath.Path `mapstructure:"field"`
	// Value is a fixed value instead of a field.
	Value string `mapstructure:"value"`
	// DefaultValue is used when the field is missing; without one the
	// attribute is left off.
	DefaultValue string `mapstructure:"default_value"`
	_            struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the config by compiling it exactly as the factory does,
// so every error names the rule and the field at start-up.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Rules) == 0 {
		errs = append(errs, errors.New("rules: at least one rule is required"))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, errors.New("flush_interval: must not be negative"))
	}
	if c.MaxStale < 0 {
		errs = append(errs, errors.New("max_stale: must not be negative"))
	}
	if c.CardinalityLimit <= 0 {
		errs = append(errs, errors.New("cardinality_limit: must be positive"))
	}
	if _, err := compileRules(c, validationTelemetry()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validationTelemetry is what OTTL's parser needs while validating: nothing
// is evaluated, so nothing is recorded.
func validationTelemetry() component.TelemetrySettings {
	return component.TelemetrySettings{
		Logger:         zap.NewNop(),
		TracerProvider: nooptrace.NewTracerProvider(),
		MeterProvider:  noop.NewMeterProvider(),
	}
}
