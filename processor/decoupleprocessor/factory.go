package decoupleprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
)

// NewFactory returns the decouple processor factory.
func NewFactory() processor.Factory {
	return newFactory(lambdalifecycle.Default)
}

func newFactory(drains *lambdalifecycle.Registry) processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return &Config{QueueSize: 1000} },
		processor.WithTraces(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
			return tracesDecoupler{newDecoupler(set, cfg.(*Config), drains, next.ConsumeTraces, ptrace.Traces.SpanCount)}, nil
		}, metadata.TracesStability),
		processor.WithMetrics(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
			return metricsDecoupler{newDecoupler(set, cfg.(*Config), drains, next.ConsumeMetrics, pmetric.Metrics.DataPointCount)}, nil
		}, metadata.MetricsStability),
		processor.WithLogs(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
			return logsDecoupler{newDecoupler(set, cfg.(*Config), drains, next.ConsumeLogs, plog.Logs.LogRecordCount)}, nil
		}, metadata.LogsStability),
	)
}
