package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/internal/levelword"
)

// Config configures the jsonlogparse processor. The zero-config default
// (createDefaultConfig) understands the common Lambda loggers.
type Config struct {
	// SourceAttribute names a string attribute to parse instead of the body.
	// When it parses, the attribute is removed (its fields replace it).
	SourceAttribute string `mapstructure:"source_attribute"`
	// RuntimePrefixes finds the JSON object after the Lambda Python
	// (`[LEVEL]\ttime\trequestId\t`) and Node.js (`time\trequestId\tLEVEL\t`)
	// text prefixes and uses their level, time and request id.
	RuntimePrefixes bool `mapstructure:"runtime_prefixes"`
	// TraceContext lists where to find trace context, first match wins.
	TraceContext []TraceCandidate `mapstructure:"trace_context"`
	// Severity says where the level is and how numbers are read.
	Severity SeverityConfig `mapstructure:"severity"`
	// TimestampFields are tried in order for the record's timestamp.
	TimestampFields []string `mapstructure:"timestamp_fields"`
	// TimestampZone is the IANA zone of timestamps written without an offset
	// (Python asctime); empty or UTC is Lambda's clock.
	TimestampZone string `mapstructure:"timestamp_zone"`
	// BodyFields are tried in order for the record's body.
	BodyFields []string `mapstructure:"body_fields"`
	// RequestIDFields are tried in order for the Lambda request id, which
	// goes to faas.invocation_id as a runtime prefix's does.
	RequestIDFields []string `mapstructure:"request_id_fields"`
	// Flatten turns nested objects into dotted attribute keys.
	Flatten FlattenConfig `mapstructure:"flatten"`
	// Limits bound what one line can add to a record.
	Limits LimitsConfig `mapstructure:"limits"`
	// SkyWalking shapes records for Apache SkyWalking's OTLP log handler.
	SkyWalking SkyWalkingConfig `mapstructure:"skywalking"`
	_          struct{}
}

// TraceCandidate names the fields of one trace context convention. The
// trace_id field may hold 32 hex digits (any case), an X-Ray id, an X-Ray
// header (Root=...;Parent=...;Sampled=...), a W3C traceparent or a Google
// Cloud trace name (projects/<p>/traces/<32 hex>); the X-Ray header and
// traceparent also carry span id and flags. A dotted name also matches
// nested objects; names match in any ASCII case.
type TraceCandidate struct {
	TraceID string `mapstructure:"trace_id"`
	SpanID  string `mapstructure:"span_id"`
	Flags   string `mapstructure:"flags"`
	// Encoding is how the ids are written: "" (the forms above, span ids
	// as 16 hex) or "datadog" (a trace id as 32 hex or as the decimal low
	// 64 bits, which only name the record's own trace when those match;
	// a span id in decimal).
	Encoding string `mapstructure:"encoding"`
	_        struct{}
}

// encodingDatadog is TraceCandidate.Encoding for Datadog's decimal ids.
const encodingDatadog = "datadog"

// SeverityConfig configures the level mapping.
type SeverityConfig struct {
	// Fields are tried in order; text and numbers are understood.
	Fields []string `mapstructure:"fields"`
	// NumberScheme reads numeric levels: pino (10..60, also bunyan),
	// python (10..50), syslog (0..7) or otel (1..24).
	NumberScheme string `mapstructure:"number_scheme"`
	// Implied gives a line that has no level field a level when it has a
	// marker field: Serilog's compact format (CLEF) omits @l for Information.
	Implied []ImpliedLevel `mapstructure:"implied"`
	_       struct{}
}

// ImpliedLevel is the level of a line that carries Field but no level.
type ImpliedLevel struct {
	Field string `mapstructure:"field"`
	Level string `mapstructure:"level"`
	_     struct{}
}

// FlattenConfig configures flattening of nested objects.
type FlattenConfig struct {
	Enabled   bool   `mapstructure:"enabled"`
	Separator string `mapstructure:"separator"`
	_         struct{}
}

// LimitsConfig bounds one record; 0 disables a limit.
type LimitsConfig struct {
	// MaxDepth is how deep attribute maps may nest; deeper objects and
	// arrays are kept as their JSON text.
	MaxDepth int `mapstructure:"max_depth"`
	// MaxAttributes caps the key/value pairs (nested ones included) one line
	// adds; the rest are counted in the record's dropped_attributes_count.
	MaxAttributes int `mapstructure:"max_attributes"`
	// MaxValueBytes truncates longer string attribute values (not the body)
	// at a UTF-8 boundary.
	MaxValueBytes int `mapstructure:"max_value_bytes"`
	_             struct{}
}

// SkyWalkingConfig makes records fit SkyWalking's OTLP log handler: string
// body, scalar-only flattened attributes, the level as an attribute and the
// trace id as a 32-hex string attribute for a LAL extractor.
type SkyWalkingConfig struct {
	Enabled          bool   `mapstructure:"enabled"`
	TraceIDAttribute string `mapstructure:"trace_id_attribute"`
	SpanIDAttribute  string `mapstructure:"span_id_attribute"`
	LevelAttribute   string `mapstructure:"level_attribute"`
	_                struct{}
}

// Validate checks the configuration, naming the offending field.
func (cfg *Config) Validate() error {
	var errs []error
	for i, c := range cfg.TraceContext {
		if c.TraceID == "" {
			errs = append(errs, fmt.Errorf("trace_context[%d]: trace_id must name a field", i))
		}
		if c.Encoding != "" && c.Encoding != encodingDatadog {
			errs = append(errs, fmt.Errorf("trace_context[%d]::encoding: %q is not one of \"\", %s", i, c.Encoding, encodingDatadog))
		}
	}
	for _, l := range []struct {
		name   string
		fields []string
	}{{"severity::fields", cfg.Severity.Fields}, {"timestamp_fields", cfg.TimestampFields}, {"body_fields", cfg.BodyFields}, {"request_id_fields", cfg.RequestIDFields}} {
		for i, f := range l.fields {
			if f == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: empty field name", l.name, i))
			}
		}
	}
	for i, im := range cfg.Severity.Implied {
		if im.Field == "" {
			errs = append(errs, fmt.Errorf("severity::implied[%d]::field: empty field name", i))
		}
		if levelword.Severity(im.Level) == plog.SeverityNumberUnspecified {
			errs = append(errs, fmt.Errorf("severity::implied[%d]::level: %q is not a known level word", i, im.Level))
		}
	}
	if _, err := loadZone(cfg.TimestampZone); err != nil {
		errs = append(errs, fmt.Errorf("timestamp_zone: %w", err))
	}
	switch cfg.Severity.NumberScheme {
	case schemePino, schemePython, schemeSyslog, schemeOTel:
	default:
		errs = append(errs, fmt.Errorf("severity::number_scheme: %q is not one of pino, python, syslog, otel", cfg.Severity.NumberScheme))
	}
	if (cfg.Flatten.Enabled || cfg.SkyWalking.Enabled) && cfg.Flatten.Separator == "" {
		errs = append(errs, errors.New("flatten::separator must not be empty when flattening (flatten::enabled or skywalking::enabled)"))
	}
	for _, l := range []struct {
		name  string
		value int
	}{{"limits::max_depth", cfg.Limits.MaxDepth}, {"limits::max_attributes", cfg.Limits.MaxAttributes}, {"limits::max_value_bytes", cfg.Limits.MaxValueBytes}} {
		if l.value < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", l.name, l.value))
		}
	}
	if cfg.SkyWalking.Enabled && (cfg.SkyWalking.TraceIDAttribute == "" || cfg.SkyWalking.LevelAttribute == "") {
		errs = append(errs, errors.New("skywalking: trace_id_attribute and level_attribute must not be empty when enabled"))
	}
	return errors.Join(errs...)
}
