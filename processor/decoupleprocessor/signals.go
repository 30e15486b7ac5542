package decoupleprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// One adapter per signal gives the generic decoupler its ConsumeX method.

type tracesDecoupler struct{ *decoupler[ptrace.Traces] }

func (d tracesDecoupler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return d.consume(ctx, td)
}

type metricsDecoupler struct{ *decoupler[pmetric.Metrics] }

func (d metricsDecoupler) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return d.consume(ctx, md)
}

type logsDecoupler struct{ *decoupler[plog.Logs] }

func (d logsDecoupler) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return d.consume(ctx, ld)
}
