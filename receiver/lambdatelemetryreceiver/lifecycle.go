package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/translator"
)

// localBudget bounds a flush that only hands data on inside the process
// (translator, aggregates, the spool's disk): no network is waited for.
const localBudget = time.Second

// run is the extension's event loop. Every call to /event/next may freeze the
// environment; the flush policy (flushControl) decides, per invocation,
// whether the call waits for the invocation's data to reach the backend.
// Before each call the heap is released if a burst left it large (after the
// flush of a blocking invocation; at the start of a non-blocking one).
func (r *lambdaReceiver) run(ctx context.Context) {
	gcWhenReady(r.opts.lookupEnv)
	for {
		if r.heap.maybeRelease() {
			r.tr.Count(translator.MetricHeapReleases, 1)
		}
		ev, err := r.client.NextHint(ctx, r.fc.nonBlockingUntil())
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

// onInvoke runs the invocation's plan. Non-blocking: return to /next at
// once, emitting and waking the export in parallel when due; the environment stays
// thawed while the function runs, and what the Telemetry API delivers after
// the freeze is handled after the next thaw. Blocking: wait for
// platform.runtimeDone, then flush with the export budget. Through a
// launcher's relay the INVOKE may already be acknowledged (the relay called
// /event/next from the policy's prediction) and is planned at its arrival.
func (r *lambdaReceiver) onInvoke(ctx context.Context, ev extensionapi.Event) {
	deadline := time.UnixMilli(ev.DeadlineMs)
	at := ev.Arrived
	if at.IsZero() {
		at = r.opts.now()
	}
	p := r.fc.onInvoke(at, ev.Acknowledged)
	if !p.blocking {
		// In parallel with the function, so /next is not delayed: the
		// translator may be busy with a delivery, and the invocation's own
		// records come through the Telemetry API later anyway.
		r.wg.Go(func() {
			r.tr.StartInvocation(ev.RequestID, ev.Tracing.Value, ev.InvokedFunctionArn, deadline)
			if p.emit {
				r.flush(context.WithoutCancel(ctx), lambdalifecycle.Background, localBudget)
			}
		})
		return
	}
	r.tr.StartInvocation(ev.RequestID, ev.Tracing.Value, ev.InvokedFunctionArn, deadline)
	if !r.waitRuntimeDone(ctx, ev.RequestID, deadline, ev.DeadlineMs == 0) {
		return
	}
	r.flush(ctx, lambdalifecycle.Blocking, r.cfg.Flush.ExportBudget)
}

// waitRuntimeDone waits for the invocation's platform.runtimeDone, bounded by
// its deadline plus a grace and by flush.max_wait. Every flush.interval of a
// long invocation it sends what has come so far, in the background (the
// backstop). It reports false when the receiver is stopping.
func (r *lambdaReceiver) waitRuntimeDone(ctx context.Context, requestID string, deadline time.Time, noDeadline bool) bool {
	waitUntil := deadline.Add(r.cfg.Flush.RuntimeDoneGrace)
	if limit := r.opts.now().Add(r.cfg.Flush.MaxWait); noDeadline || limit.Before(waitUntil) {
		waitUntil = limit
	}
	for {
		until := r.opts.now().Add(r.cfg.Flush.Interval)
		if waitUntil.Before(until) {
			until = waitUntil
		}
		wctx, cancel := context.WithDeadline(ctx, until)
		seen := r.tr.WaitRuntimeDone(wctx, requestID)
		cancel()
		switch {
		case seen:
			return true
		case ctx.Err() != nil:
			return false
		case !r.opts.now().Before(waitUntil):
			r.tr.Count(translator.MetricRuntimeDoneMissed, 1)
			r.logger.Warn("platform.runtimeDone did not arrive before the wait ended; flushing anyway",
				zap.String("requestId", requestID))
			return true
		}
		r.flush(ctx, lambdalifecycle.Background, localBudget)
	}
}

// onShutdown waits briefly for the trailing platform.report, stops the
// listener, makes the final flush within the deadline Lambda gave, then
// stops the collector.
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
	if err := r.server.Shutdown(sctx); err != nil {
		r.logger.Warn("Telemetry listener did not stop in time", zap.Error(err))
	}
	r.tr.Close()
	r.flush(sctx, lambdalifecycle.Final, 0)
	r.finalDone.Store(true)
	r.opts.exitCollector()
}

// flush pushes everything the translator holds, metrics included (a local
// step, bounded by localBudget), then runs the drain hooks in mode, bounded
// by budget when positive, else by ctx.
func (r *lambdaReceiver) flush(ctx context.Context, mode lambdalifecycle.Mode, budget time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, localBudget)
	err := r.push(pctx, true)
	cancel()
	if budget > 0 {
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	err = errors.Join(err, r.opts.drains.Drain(ctx, mode))
	if err != nil {
		r.tr.Count(translator.MetricFlushFailures, 1)
		r.logger.Error("Flush incomplete", zap.Stringer("mode", mode), zap.Error(err))
	}
}

// push consumes the translator's pending logs and spans downstream, and its
// metrics (with the in-band stats of other components) when withMetrics.
// Pushes are serialised so that a flush waits for a delivery being pushed
// by the listener: the drain that follows then sees all of it.
func (r *lambdaReceiver) push(ctx context.Context, withMetrics bool) error {
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	logs, traces := r.tr.TakeSignals()
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
	if !withMetrics {
		return errors.Join(errs...)
	}
	metrics := r.tr.TakeMetrics(r.opts.drains.Stats())
	if n := metrics.DataPointCount(); n > 0 && r.nextMetrics != nil {
		octx := r.obs.StartMetricsOp(ctx)
		err := r.nextMetrics.ConsumeMetrics(octx, metrics)
		r.obs.EndMetricsOp(octx, "telemetryapi", n, err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
