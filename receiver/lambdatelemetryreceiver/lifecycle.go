package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
// At the start of each invocation the heap is released if a burst left it
// large: in parallel with the function, not on the billed path after it.
// On Lambda Managed Instances /event/next returns SHUTDOWN only: the
// Telemetry API is the one source of invocations, deliveries go downstream
// on arrival (the listener), and a timer emits metrics and aggregates.
func (r *lambdaReceiver) run(ctx context.Context) {
	gcWhenReady(r.opts.lookupEnv)
	if r.fc.concurrent {
		tctx, cancel := context.WithCancel(ctx)
		var ticking sync.WaitGroup
		ticking.Go(func() { r.emitEvery(tctx) })
		r.stopEmitting = func() { cancel(); ticking.Wait() }
		defer r.stopEmitting()
	}
	r.heap.maybeRelease() // the reference: what the heap holds when ready
	for {
		ev, err := r.next(ctx)
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

// next waits for the next event. Through a launcher's relay it hints until
// when the next INVOKE may go without this receiver; while exports are
// behind that is never, and a watch updates the hint as soon as they catch
// up, so an INVOKE after that goes at once after all.
func (r *lambdaReceiver) next(ctx context.Context) (extensionapi.Event, error) {
	behind := r.behind()
	until := r.fc.nonBlockingUntil(behind)
	if !behind || !until.IsZero() {
		return r.client.NextHint(ctx, until)
	}
	wctx, stop := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Go(func() {
		every(wctx, lagPoll, func() bool {
			if r.behind() {
				return false
			}
			if err := r.client.Hint(r.fc.nonBlockingUntil(false)); err != nil {
				r.logger.Debug("Could not update the event relay's hint", zap.Error(err))
			}
			return true
		})
	})
	defer watching.Wait()
	defer stop()
	return r.client.NextHint(ctx, until)
}

// lagPoll is how often a receiver whose exports are behind checks whether
// they caught up.
const lagPoll = 2 * time.Millisecond

// behind reports whether exports fell behind by more than
// flush.adaptive.max_lag: an invocation other than the last has not been
// translated for that long (its records wait in Lambda's buffer, or in a
// delivery not yet handled), or data held downstream that could be sent now
// (lambdalifecycle backlogs; a failing backend's data does not count) was
// accepted that long ago. The last invocation's own tail arrives after its
// freeze, so it does not count.
func (r *lambdaReceiver) behind() bool {
	_, late := r.lateInvocation()
	return late
}

// lateInvocation reports whether exports are behind, and the invocation
// before the last when a translation is what lags: a catch-up waits for it.
func (r *lambdaReceiver) lateInvocation() (string, bool) {
	now := r.opts.now()
	limit := now.Add(-r.cfg.Flush.Adaptive.MaxLag)
	r.invokesMu.Lock()
	// Forget the translated ones, and those whose runtimeDone will not come.
	r.untranslated = slices.DeleteFunc(r.untranslated, func(m invokeMark) bool {
		return r.tr.RuntimeDoneSeen(m.id) || now.After(m.deadline.Add(r.cfg.Flush.RuntimeDoneGrace))
	})
	var late string
	if n := len(r.untranslated); n >= 2 && r.untranslated[0].at.Before(limit) {
		late = r.untranslated[n-2].id
	}
	r.invokesMu.Unlock()
	if late != "" {
		return late, true
	}
	oldest := r.opts.drains.Oldest()
	return "", !oldest.IsZero() && oldest.Before(limit)
}

// maxUntranslated bounds the invocations lateInvocation tracks.
const maxUntranslated = 64

// invokeMark is one INVOKE the loop planned: its request id, arrival and deadline.
type invokeMark struct {
	id           string
	at, deadline time.Time
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
	r.wg.Go(func() {
		if r.heap.maybeRelease() {
			r.tr.Count(translator.MetricHeapReleases, 1)
		}
	})
	late, behind := r.lateInvocation()
	p := r.fc.onInvoke(at, ev.Acknowledged, behind)
	waitUntil := deadline
	if ev.DeadlineMs == 0 {
		waitUntil = at.Add(r.cfg.Flush.MaxWait)
	}
	r.invokesMu.Lock()
	r.untranslated = append(r.untranslated, invokeMark{ev.RequestID, at, waitUntil})
	if len(r.untranslated) > maxUntranslated {
		r.untranslated = r.untranslated[1:]
	}
	r.invokesMu.Unlock()
	if p.catchUp {
		// Exports fell behind: while the function runs, let the late
		// invocation's records (already delivered) be translated and send
		// what is held, holding the environment for that within the budget.
		r.tr.StartInvocation(ev.RequestID, ev.Tracing.Value, ev.InvokedFunctionArn, deadline)
		r.tr.Count(translator.MetricCatchUpFlushes, 1)
		bctx, cancel := context.WithTimeout(ctx, r.cfg.Flush.ExportBudget)
		defer cancel()
		if late != "" {
			r.tr.WaitRuntimeDone(bctx, late)
		}
		r.flush(bctx, lambdalifecycle.CatchUp, 0)
		return
	}
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

// emitEvery emits metrics and aggregates every flush.interval (concurrent
// mode): with no INVOKE and no freeze, nothing else marks time. A delivery
// that finds the interval passed emits too (emitDue counts both).
func (r *lambdaReceiver) emitEvery(ctx context.Context) {
	every(ctx, r.cfg.Flush.Interval, func() bool {
		if r.fc.emitDue(r.opts.now()) {
			r.flush(context.WithoutCancel(ctx), lambdalifecycle.Background, localBudget)
		}
		return false
	})
}

// every calls fn every d until ctx ends or fn reports it is done.
func every(ctx context.Context, d time.Duration, fn func() (done bool)) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if fn() {
				return
			}
		}
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
	if r.stopEmitting != nil {
		r.stopEmitting() // no background emission overlaps the final one
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
