package lambdaemu

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Lambda Managed Instances (Config.InitializationType = InitManagedInstances):
// the environment serves several invocations at once, as many as runtime
// workers wait in /invocation/next (call RunRuntime once per worker), and is
// never frozen. Extensions may register for SHUTDOWN only (INVOKE is refused)
// and learn about invocations from the Telemetry API; platform.report follows
// platform.runtimeDone at once, as no extension holds an invocation's end.

// newInvocation makes the invocation for req, starting now.
func (e *Emulator) newInvocation(req InvokeRequest) *invocation {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = e.cfg.Timeout
	}
	trace := req.TraceHeader
	if trace == "" && !req.NoTrace {
		trace = NewTraceHeader()
	}
	inv := &invocation{payload: req.Payload, rec: invocationRecord{
		requestID: newRequestID(), clientTrace: trace, spanID: randomHex(8), start: time.Now(),
	}}
	// Whole milliseconds, as the runtime sees it in Lambda-Runtime-Deadline-Ms.
	inv.deadline = time.UnixMilli(inv.rec.start.Add(timeout).UnixMilli())
	return inv
}

// timeOutLocked ends inv with status timeout unless it already ended; it
// reports whether it did.
func (e *Emulator) timeOutLocked(inv *invocation) bool {
	if inv.finished {
		return false
	}
	inv.finished = true
	inv.rec.status, inv.rec.errorType = "timeout", "Sandbox.Timedout"
	e.fn.emitRuntimeDone(e.hub, time.Now(), &inv.rec)
	e.notifyLocked()
	return true
}

// invokeConcurrent is Invoke on Lambda Managed Instances: it runs alongside
// other invocations and returns once this one ended (no freeze follows). A
// timed-out invocation's worker is not reset: its late answer is refused.
func (e *Emulator) invokeConcurrent(ctx context.Context, req InvokeRequest) (InvokeResult, error) {
	e.invokeMu.RLock()
	defer e.invokeMu.RUnlock()
	if err := e.WaitInit(ctx); err != nil {
		return InvokeResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.phase != phaseInvoke:
		return InvokeResult{}, ErrShutdown
	case e.rt.dead:
		return InvokeResult{}, errors.New("lambdaemu: the runtime process exited")
	}
	inv := e.newInvocation(req)
	id := inv.rec.requestID
	e.log.add(Event{Kind: EventLifecycle, Detail: "invoke " + id})
	e.fn.emitStart(e.hub, &inv.rec)
	e.running[id] = inv
	e.rt.queue = append(e.rt.queue, inv)
	e.notifyLocked()

	if err := e.waitFinishedLocked(ctx, inv); errors.Is(err, ErrClosed) {
		return InvokeResult{}, err
	}
	if e.timeOutLocked(inv) && !inv.delivered {
		// No worker took it in time: none ever will.
		e.rt.queue = slices.DeleteFunc(e.rt.queue, func(q *invocation) bool { return q == inv })
	}
	delete(e.running, id)
	e.fn.emitReport(e.hub, time.Now(), &inv.rec)
	return inv.result(), ctx.Err()
}
