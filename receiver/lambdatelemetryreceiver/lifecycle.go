package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/translator"
)

// run is the extension's event loop. Every call to /event/next may freeze the
// environment, so each is preceded by a flush of everything the invocation
// produced.
func (r *lambdaReceiver) run(ctx context.Context) {
	for {
		ev, err := r.client.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.logger.Error("Lambda /event/next failed; stopping the collector", zap.Error(err))
			componentstatus.ReportStatus(r.host, componentstatus.NewFatalErrorEvent(fmt.Errorf("lambdatelemetry: %w", err)))
			return
		}
		switch {
		case ev.IsInvoke():
			r.onInvoke(ctx, ev)
		case ev.IsShutdown():
			r.onShutdown(ctx, ev)
			return
		default:
			r.logger.Warn("Ignoring unknown Lambda event", zap.String("type", string(ev.EventType)))
		}
	}
}

// onInvoke waits for the invocation's platform.runtimeDone (bounded by its
// deadline plus a grace and by flush.max_wait), then flushes.
func (r *lambdaReceiver) onInvoke(ctx context.Context, ev extensionapi.Event) {
	deadline := time.UnixMilli(ev.DeadlineMs)
	r.tr.StartInvocation(ev.RequestID, ev.Tracing.Value, ev.InvokedFunctionArn, deadline)
	waitUntil := deadline.Add(r.cfg.Flush.RuntimeDoneGrace)
	if limit := r.opts.now().Add(r.cfg.Flush.MaxWait); ev.DeadlineMs == 0 || limit.Before(waitUntil) {
		waitUntil = limit
	}
	wctx, cancel := context.WithDeadline(ctx, waitUntil)
	seen := r.tr.WaitRuntimeDone(wctx, ev.RequestID)
	cancel()
	if !seen && ctx.Err() == nil {
		r.tr.Count(translator.MetricRuntimeDoneMissed, 1)
		r.logger.Warn("platform.runtimeDone did not arrive before the wait ended; flushing anyway",
			zap.String("requestId", ev.RequestID))
	}
	fctx, cancel := context.WithTimeout(ctx, r.cfg.Flush.Timeout)
	defer cancel()
	r.flush(fctx)
}

// onShutdown waits briefly for the trailing platform.report, flushes within
// the deadline Lambda gave, then stops the collector.
func (r *lambdaReceiver) onShutdown(ctx context.Context, ev extensionapi.Event) {
	deadline := time.UnixMilli(ev.DeadlineMs).Add(-r.cfg.Shutdown.Margin)
	if ev.DeadlineMs == 0 {
		deadline = r.opts.now().Add(2*time.Second - r.cfg.Shutdown.Margin)
	}
	r.logger.Info("Lambda SHUTDOWN", zap.String("reason", ev.ShutdownReason), zap.Time("deadline", deadline))
	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	wctx, wcancel := context.WithTimeout(sctx, r.cfg.Shutdown.ReportWait)
	r.tr.WaitReports(wctx)
	wcancel()
	r.tr.Close()
	r.flush(sctx)
	r.opts.exitCollector()
}

// flush pushes what the translator holds, then runs every drain hook so that
// nothing is left in a component when the environment freezes.
func (r *lambdaReceiver) flush(ctx context.Context) {
	err := errors.Join(r.push(ctx), r.opts.drains.Drain(ctx, lambdalifecycle.Blocking))
	if err != nil {
		r.tr.Count(translator.MetricFlushFailures, 1)
		r.logger.Error("Flush before freeze incomplete", zap.Error(err))
	}
}

// push consumes the translator's pending logs, spans and metrics downstream.
func (r *lambdaReceiver) push(ctx context.Context) error {
	logs, traces, metrics := r.tr.Take()
	var errs []error
	if n := logs.LogRecordCount(); n > 0 && r.nextLogs != nil {
		octx := r.obs.StartLogsOp(ctx)
		err := r.nextLogs.ConsumeLogs(octx, logs)
		r.obs.EndLogsOp(octx, "telemetryapi", n, err)
		errs = append(errs, err)
	}
	if n := traces.SpanCount(); n > 0 && r.nextTraces != nil {
		octx := r.obs.StartTracesOp(ctx)
		err := r.nextTraces.ConsumeTraces(octx, traces)
		r.obs.EndTracesOp(octx, "telemetryapi", n, err)
		errs = append(errs, err)
	}
	if n := metrics.DataPointCount(); n > 0 && r.nextMetrics != nil {
		octx := r.obs.StartMetricsOp(ctx)
		err := r.nextMetrics.ConsumeMetrics(octx, metrics)
		r.obs.EndMetricsOp(octx, "telemetryapi", n, err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
