package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrShutdown is returned by Invoke once Shutdown has started.
var ErrShutdown = errors.New("lambdaemu: the environment is shutting down")

type phase int

const (
	phaseInit phase = iota
	phaseInvoke
	phaseShutdown
)

// Emulator is one Lambda execution environment: Runtime, Extensions and
// Telemetry API on one loopback address, and the lifecycle that drives them.
type Emulator struct {
	cfg    Config
	fn     functionInfo
	ln     net.Listener
	tmp    string // this environment's /tmp
	srv    *http.Server
	log    *eventLog
	gate   *freezeGate
	hub    *telemetryHub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// invokeMu serialises Invoke and Shutdown: one invocation at a time, as on
	// Lambda. On Lambda Managed Instances invocations share it (RLock) and
	// Shutdown waits for them all.
	invokeMu  sync.RWMutex
	closeOnce sync.Once

	mu             sync.Mutex
	changed        chan struct{} // closed and replaced on every state change
	phase          phase
	expected       int
	exts           []*extension
	initStart      time.Time
	initDone       bool
	initErrType    string
	initDuration   time.Duration
	coldStart      bool
	rt             runtimeState
	procs          []*Process
	runtimeCancels []context.CancelFunc
	// running: Lambda Managed Instances' invocations in progress, by request id.
	running map[string]*invocation
}

type runtimeState struct {
	launched bool // RunRuntime or StartRuntime was called, or a runtime called next
	started  bool // called next at least once: runtime init done
	inNext   bool
	waiting  int  // runtime workers in next (one, except on Lambda Managed Instances)
	reset    bool // timed out: its invocation was abandoned
	dead     bool // its process exited
	queue    []*invocation
	current  *invocation
	proc     *Process
}

type invocation struct {
	rec       invocationRecord
	payload   []byte
	deadline  time.Time
	delivered bool
	finished  bool
	response  []byte
}

// result is what Invoke reports of inv.
func (inv *invocation) result() InvokeResult {
	return InvokeResult{
		RequestID: inv.rec.requestID, Status: inv.rec.status, ErrorType: inv.rec.errorType,
		Response: inv.response, TraceHeader: inv.rec.runtimeTraceHeader(),
	}
}

// waitFinishedLocked waits until inv is answered, its deadline passes or
// ctx ends; ErrClosed when the emulator closes meanwhile.
func (e *Emulator) waitFinishedLocked(ctx context.Context, inv *invocation) error {
	dctx, cancel := context.WithDeadline(ctx, inv.deadline)
	defer cancel()
	return e.waitLocked(dctx, func() bool { return inv.finished })
}

type extension struct {
	id           string
	name         string
	events       map[string]bool
	ready        bool
	inNext       bool
	queue        [][]byte
	errored      string
	exited       bool
	shutdownSent bool
	finishedAt   time.Time // done with SHUTDOWN
	proc         *Process
}

func (x *extension) alive() bool { return x.errored == "" && !x.exited }

// busy: alive and not waiting in next for its next event. An extension whose
// pending next has an event queued but not yet returned is busy: it has not
// seen the event (an INVOKE queued an instant ago) and will work on it.
func (x *extension) busy() bool { return x.alive() && (!x.inNext || len(x.queue) > 0) }

// Start listens on 127.0.0.1:0 and begins the Init phase.
func Start(cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tmp, err := os.MkdirTemp("", "lambdaemu-tmp-")
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("lambdaemu: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{
		cfg: cfg, fn: cfg.functionInfo(), ln: ln, tmp: tmp, log: &eventLog{}, gate: newFreezeGate(),
		ctx: ctx, cancel: cancel, changed: make(chan struct{}), expected: cfg.Extensions, coldStart: true,
		running: map[string]*invocation{},
	}
	e.hub = newTelemetryHub(ctx, cfg.Telemetry, e.gate, e.log)
	e.srv = &http.Server{Handler: e.routes(), ReadHeaderTimeout: 10 * time.Second}
	e.log.add(Event{Kind: EventLifecycle, Detail: "init"})
	e.wg.Go(func() { _ = e.srv.Serve(ln) })
	e.wg.Go(e.runInit)
	return e, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (e *Emulator) Addr() string { return e.ln.Addr().String() }

// Env is the environment Lambda gives extensions (and, with the runtime-only
// variables of RuntimeEnv, the runtime).
func (e *Emulator) Env() []string {
	c := e.cfg
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + e.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION=" + c.FunctionVersion,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemoryMB),
		"AWS_REGION=" + c.Region,
		"AWS_DEFAULT_REGION=" + c.Region,
		"AWS_LAMBDA_INITIALIZATION_TYPE=" + c.InitializationType,
		"AWS_EXECUTION_ENV=AWS_Lambda_" + strings.ReplaceAll(strings.SplitN(c.RuntimeVersion, ".", 2)[0], ":", "_"),
		// Each environment has a /tmp of its own, which lives as long as it
		// does: programs that honour TMPDIR (os.TempDir) get this one's.
		"TMPDIR=" + e.tmp,
	}
}

// Setenv sets every Env variable through t (a *testing.T), for an extension
// running in the test's own process.
func (e *Emulator) Setenv(t interface{ Setenv(key, value string) }) {
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// RuntimeEnv is Env plus the variables only the runtime sees.
func (e *Emulator) RuntimeEnv() []string {
	return append(e.Env(),
		"_HANDLER="+e.cfg.Handler,
		"LAMBDA_TASK_ROOT=/var/task",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+e.cfg.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=emulated",
		"AWS_LAMBDA_LOG_FORMAT="+string(e.cfg.Telemetry.LogFormat),
	)
}

// Events returns a copy of the event log.
func (e *Emulator) Events() []Event { return e.log.snapshot() }

// Records returns every telemetry record emitted so far.
func (e *Emulator) Records() []Envelope { return Records(e.Events()) }

// Frozen reports whether the environment is frozen now.
func (e *Emulator) Frozen() bool { return e.gate.isFrozen() }

// notifyLocked wakes every waitLocked.
func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitLocked waits, with e.mu held on entry and return, until cond holds.
func (e *Emulator) waitLocked(ctx context.Context, cond func() bool) error {
	for !cond() {
		ch := e.changed
		e.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-e.ctx.Done():
			err = ErrClosed
		}
		e.mu.Lock()
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrClosed is returned by calls on a closed emulator.
var ErrClosed = errors.New("lambdaemu: emulator closed")

func (e *Emulator) registeredLocked() int { return len(e.exts) }

func (e *Emulator) extensionsIdleLocked(pred func(*extension) bool) bool {
	for _, x := range e.exts {
		if x.alive() && !pred(x) {
			return false
		}
	}
	return true
}

// runInit drives the Init phase: extensions register, then the runtime starts;
// Init ends when the runtime and every extension wait in next.
func (e *Emulator) runInit() {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.InitTimeout)
	defer cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	// Extensions first: the runtime's init starts once the expected extensions
	// registered and a runtime exists (so StartExtension calls made before the
	// runtime count).
	err := e.waitLocked(ctx, func() bool {
		return (e.registeredLocked() >= e.expected && e.rt.launched) || e.initErrType != ""
	})
	if errors.Is(err, ErrClosed) {
		return
	}
	e.initStart = time.Now()
	e.fn.emitInitStart(e.hub, e.initStart, "init")
	e.notifyLocked()
	if err == nil {
		err = e.waitLocked(ctx, func() bool {
			return e.initErrType != "" || (e.rt.inNext && e.extensionsIdleLocked(func(x *extension) bool { return x.ready && x.inNext }))
		})
	}
	if errors.Is(err, ErrClosed) {
		return
	}
	status := "success"
	switch {
	case e.initErrType != "":
		status = "error"
	case err != nil:
		status, e.initErrType = "timeout", "Sandbox.Timedout"
	}
	now := time.Now()
	e.initDuration = now.Sub(e.initStart)
	e.fn.emitInitReport(e.hub, now, "init", status, e.initErrType, e.initDuration)
	e.hub.closeSubscriptions()
	if status == "success" {
		e.phase = phaseInvoke
	}
	e.log.add(Event{Kind: EventLifecycle, Detail: "init " + status})
	if status == "success" && !e.cfg.managed() {
		// Frozen before anyone can see Init done: an Invoke waiting in
		// WaitInit would otherwise thaw first and be frozen mid-invocation.
		e.mu.Unlock()
		e.freeze("")
		e.mu.Lock()
	}
	e.initDone = true
	e.notifyLocked()
}

// WaitInit waits for the end of the Init phase and returns its failure, if any.
func (e *Emulator) WaitInit(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.waitLocked(ctx, func() bool { return e.initDone }); err != nil {
		return err
	}
	if e.initErrType != "" {
		return fmt.Errorf("lambdaemu: Init failed: %s", e.initErrType)
	}
	return nil
}

func (e *Emulator) freeze(detail string) {
	if !e.gate.freeze() {
		return
	}
	e.log.add(Event{Kind: EventFreeze, Detail: detail})
	for _, p := range e.processes() {
		p.stop()
	}
	if e.cfg.OnFreeze != nil {
		e.cfg.OnFreeze()
	}
}

func (e *Emulator) thaw() {
	if !e.gate.isFrozen() {
		return
	}
	if e.cfg.OnThaw != nil {
		e.cfg.OnThaw()
	}
	for _, p := range e.processes() {
		p.cont()
	}
	e.log.add(Event{Kind: EventThaw})
	e.gate.thaw()
}

// InvokeRequest is one invocation.
type InvokeRequest struct {
	Payload []byte
	// TraceHeader is the caller's X-Ray header; when empty a sampled one is
	// generated unless NoTrace.
	TraceHeader string
	NoTrace     bool
	// Timeout overrides Config.Timeout.
	Timeout time.Duration
}

// InvokeResult is what the caller of an invocation gets, after the freeze.
type InvokeResult struct {
	RequestID string
	// Status is the runtimeDone status: success, error, failure or timeout.
	Status    string
	ErrorType string
	// Response is the runtime's response, or its error document.
	Response []byte
	// TraceHeader is the header the runtime and the extensions received.
	TraceHeader string
	// LateExtensions did not call next within the invocation's deadline (the
	// emulator froze the environment regardless).
	LateExtensions []string
}

// Invoke runs one invocation and returns once the environment froze again
// (on Lambda Managed Instances: once it ended; invocations may overlap).
func (e *Emulator) Invoke(ctx context.Context, req InvokeRequest) (InvokeResult, error) {
	if e.cfg.managed() {
		return e.invokeConcurrent(ctx, req)
	}
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()
	if err := e.WaitInit(ctx); err != nil {
		return InvokeResult{}, err
	}
	e.mu.Lock()
	if e.phase != phaseInvoke {
		e.mu.Unlock()
		return InvokeResult{}, ErrShutdown
	}
	// After a timeout the runtime is reset: wait until it asks for work again.
	if err := e.waitLocked(ctx, func() bool { return e.rt.inNext || e.rt.dead }); err != nil {
		e.mu.Unlock()
		return InvokeResult{}, err
	}
	if e.rt.dead {
		e.mu.Unlock()
		return InvokeResult{}, errors.New("lambdaemu: the runtime process exited")
	}
	e.mu.Unlock()

	e.thaw()

	e.mu.Lock()
	defer e.mu.Unlock()
	inv := e.newInvocation(req)
	if e.coldStart {
		inv.rec.initDuration, e.coldStart = e.initDuration, false
	}
	e.log.add(Event{Kind: EventLifecycle, Detail: "invoke " + inv.rec.requestID})
	e.fn.emitStart(e.hub, &inv.rec)
	ev := map[string]any{
		"eventType": "INVOKE", "deadlineMs": inv.deadline.UnixMilli(), "requestId": inv.rec.requestID,
		"invokedFunctionArn": e.fn.arn(),
	}
	if h := inv.rec.runtimeTraceHeader(); h != "" {
		ev["tracing"] = tracing{Type: "X-Amzn-Trace-Id", Value: h}
	}
	evJSON, _ := json.Marshal(ev)
	var invoked []*extension
	for _, x := range e.exts {
		if x.alive() && x.events["INVOKE"] {
			x.queue = append(x.queue, evJSON)
			invoked = append(invoked, x)
		}
	}
	e.rt.queue = append(e.rt.queue, inv)
	e.rt.current = inv
	e.notifyLocked()

	if err := e.waitFinishedLocked(ctx, inv); errors.Is(err, ErrClosed) {
		return InvokeResult{}, err
	}
	if e.timeOutLocked(inv) {
		e.rt.reset = true
	}

	// The invocation ends when the runtime and every extension are back in next.
	// Post-runtime work counts against the deadline; after a timeout extensions
	// get ShutdownTimeout to return.
	bound := inv.deadline
	if time.Until(bound) <= 0 {
		bound = time.Now().Add(e.cfg.ShutdownTimeout)
	}
	bctx, cancel := context.WithDeadline(e.ctx, bound)
	_ = e.waitLocked(bctx, func() bool {
		if !e.rt.inNext && !e.rt.reset && !e.rt.dead {
			return false
		}
		for _, x := range invoked {
			if x.busy() {
				return false
			}
		}
		return true
	})
	cancel()
	res := inv.result()
	for _, x := range invoked {
		if x.busy() {
			res.LateExtensions = append(res.LateExtensions, x.name)
		}
	}
	if len(res.LateExtensions) > 0 && inv.rec.status == "success" {
		inv.rec.status, inv.rec.errorType = "timeout", "Sandbox.Timedout"
	}
	end := time.Now()
	e.mu.Unlock()
	detail := ""
	if len(res.LateExtensions) > 0 {
		detail = "forced: still busy: " + strings.Join(res.LateExtensions, ",")
	}
	e.freeze(detail)
	e.mu.Lock()
	// Lambda holds platform.report until the next thaw (or SHUTDOWN).
	e.fn.emitReport(e.hub, end, &inv.rec)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// ShutdownResult says how each party met the SHUTDOWN deadline.
type ShutdownResult struct {
	Reason   string
	Deadline time.Time
	Parties  []PartyResult
}

// PartyResult is one extension's (or the runtime's) shutdown outcome.
type PartyResult struct {
	Name string
	// Finished: exited (process mode) or called next again after SHUTDOWN
	// (in-process), before the deadline.
	Finished bool
	At       time.Time
	// Subscribed is false for extensions that did not register for SHUTDOWN
	// (Lambda does not wait for them).
	Subscribed bool
}

// OK reports whether every party finished before the deadline.
func (r ShutdownResult) OK() bool {
	for _, p := range r.Parties {
		if p.Subscribed && !p.Finished {
			return false
		}
	}
	return true
}

// Shutdown sends SHUTDOWN (reason spindown, timeout or failure) with deadlineMs
// = now + ShutdownTimeout, keeps delivering telemetry, and waits for the
// extensions until the deadline; processes still running then are killed.
func (e *Emulator) Shutdown(ctx context.Context, reason string) (ShutdownResult, error) {
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()
	e.mu.Lock()
	if e.phase == phaseShutdown {
		e.mu.Unlock()
		return ShutdownResult{}, ErrShutdown
	}
	e.phase = phaseShutdown
	e.notifyLocked()
	cancels := e.runtimeCancels
	rtProc := e.rt.proc
	e.mu.Unlock()

	e.thaw()
	deadline := time.Now().Add(e.cfg.ShutdownTimeout)
	e.log.add(Event{Kind: EventLifecycle, Detail: "shutdown " + reason})
	// The runtime goes first: Lambda stops it before telling the extensions.
	for _, c := range cancels {
		c()
	}
	if rtProc != nil {
		rtProc.kill()
	}

	e.mu.Lock()
	ev, _ := json.Marshal(map[string]any{"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline.UnixMilli()})
	for _, x := range e.exts {
		if x.alive() && x.events["SHUTDOWN"] {
			x.queue = append(x.queue, ev)
			x.shutdownSent = true
		}
	}
	e.notifyLocked()
	dctx, cancel := context.WithDeadline(ctx, deadline)
	_ = e.waitLocked(dctx, func() bool {
		return e.extensionsIdleLocked(func(x *extension) bool { return !x.shutdownSent || !x.finishedAt.IsZero() })
	})
	cancel()
	res := ShutdownResult{Reason: reason, Deadline: deadline}
	for _, x := range e.exts {
		finished := !x.finishedAt.IsZero() && !x.finishedAt.After(deadline)
		res.Parties = append(res.Parties, PartyResult{Name: x.name, Finished: finished, At: x.finishedAt, Subscribed: x.events["SHUTDOWN"]})
	}
	procs := e.procs
	e.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	return res, ctx.Err()
}

// ExtensionExited tells the emulator that the in-process extension name has
// stopped, as a process exit would: during Shutdown it counts as finished, and
// it is no longer waited for or delivered to.
func (e *Emulator) ExtensionExited(name string) {
	e.mu.Lock()
	for _, x := range e.exts {
		if x.name == name && !x.exited {
			x.exited = true
			if x.finishedAt.IsZero() {
				x.finishedAt = time.Now()
			}
		}
	}
	e.notifyLocked()
	e.mu.Unlock()
	e.hub.removeSubscriber(name)
}

// Close stops everything the emulator started. It is safe to call twice.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		procs := e.procs
		e.mu.Unlock()
		e.cancel()
		for _, p := range procs {
			p.kill()
		}
		_ = e.srv.Close()
		e.wg.Wait()
		e.hub.wait()
		e.hub.client.CloseIdleConnections()
		for _, p := range procs {
			<-p.done
		}
		_ = os.RemoveAll(e.tmp)
	})
	return nil
}
