// Written by hand in the shape mdatagen generates from metadata.yaml; keep the two consistent.

package metadata // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the component's own counters.
type TelemetryBuilder struct {
	meter                                  metric.Meter
	ProcessorJsonlogparseRecordsParsed     metric.Int64Counter
	ProcessorJsonlogparseRecordsNotJSON    metric.Int64Counter
	ProcessorJsonlogparseRecordsMalformed  metric.Int64Counter
	ProcessorJsonlogparseInvalidIds        metric.Int64Counter
	ProcessorJsonlogparseInvalidTimestamps metric.Int64Counter
	ProcessorJsonlogparseAttributesDropped metric.Int64Counter
	ProcessorJsonlogparseValuesTruncated   metric.Int64Counter
}

// NewTelemetryBuilder creates the counters declared in metadata.yaml.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var errs error
	counter := func(name, description, unit string) metric.Int64Counter {
		c, err := builder.meter.Int64Counter("otelcol_"+name, metric.WithDescription(description+" [Alpha]"), metric.WithUnit(unit))
		errs = errors.Join(errs, err)
		return c
	}
	builder.ProcessorJsonlogparseRecordsParsed = counter("processor_jsonlogparse_records_parsed",
		"Log records whose JSON line was parsed into the record.", "{record}")
	builder.ProcessorJsonlogparseRecordsNotJSON = counter("processor_jsonlogparse_records_not_json",
		"Log records passed through untouched because their source is not a JSON object (or not a string).", "{record}")
	builder.ProcessorJsonlogparseRecordsMalformed = counter("processor_jsonlogparse_records_malformed",
		"Log records passed through untouched because their JSON object is malformed.", "{record}")
	builder.ProcessorJsonlogparseInvalidIds = counter("processor_jsonlogparse_invalid_ids",
		"Trace id, span id or flags values that were not valid and were kept as attributes.", "{value}")
	builder.ProcessorJsonlogparseInvalidTimestamps = counter("processor_jsonlogparse_invalid_timestamps",
		"Timestamp values that could not be read and were kept as attributes.", "{value}")
	builder.ProcessorJsonlogparseAttributesDropped = counter("processor_jsonlogparse_attributes_dropped",
		"Attributes not added because a line exceeded limits::max_attributes.", "{attribute}")
	builder.ProcessorJsonlogparseValuesTruncated = counter("processor_jsonlogparse_values_truncated",
		"String attribute values cut to limits::max_value_bytes.", "{value}")
	return &builder, errs
}
