package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"
)

// NewFactory returns the factory of the jsonlogparse processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogsProcessor, metadata.LogsStability),
	)
}

// createDefaultConfig covers what real loggers write, so no config is needed.
func createDefaultConfig() component.Config {
	return &Config{
		RuntimePrefixes: true,
		TraceContext: []TraceCandidate{
			{TraceID: "trace_id", SpanID: "span_id", Flags: "trace_flags"},
			{TraceID: "traceId", SpanID: "spanId", Flags: "traceFlags"},
			{TraceID: "otelTraceID", SpanID: "otelSpanID", Flags: "otelTraceSampled"},
			{TraceID: "trace.id", SpanID: "span.id"},
			{TraceID: "@tr", SpanID: "@sp"},
			{TraceID: "traceparent"},
			{TraceID: "logging.googleapis.com/trace", SpanID: "logging.googleapis.com/spanId", Flags: "logging.googleapis.com/trace_sampled"},
			{TraceID: "dd.trace_id", SpanID: "dd.span_id", Encoding: encodingDatadog},
			{TraceID: "xray_trace_id"},
		},
		Severity: SeverityConfig{
			Fields:       []string{"level", "levelname", "severity", "log.level", "@l"},
			NumberScheme: schemePino,
			Implied:      []ImpliedLevel{{Field: "@t", Level: "Information"}}, // CLEF
		},
		TimestampFields: []string{"timestamp", "time", "ts", "asctime", "@timestamp", "@t"},
		BodyFields:      []string{"message", "msg", "@m", "@mt", "event"},
		RequestIDFields: []string{"requestId", "function_request_id"}, // Lambda's JSON log format, Powertools
		Flatten:         FlattenConfig{Separator: "."},
		Limits:          LimitsConfig{MaxDepth: 10, MaxAttributes: 128, MaxValueBytes: 16384},
		SkyWalking:      SkyWalkingConfig{TraceIDAttribute: "trace_id", SpanIDAttribute: "span_id", LevelAttribute: "level"},
	}
}

func createLogsProcessor(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("jsonlogparse: creating telemetry: %w", err)
	}
	p := &logsProcessor{parser: newParser(cfg.(*Config)), telemetry: tb}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}
