// Package translator turns Lambda lifecycle and Telemetry API events into
// OTLP logs, spans and metrics. It owns all per-invocation state; the
// receiver feeds it events from two goroutines (the /event/next loop and the
// telemetry listener) and takes what it built at every flush.
package translator

import (
	"context"
	"crypto/rand"
	"io"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// Options configure what the translator builds.
type Options struct {
	ScopeName      string
	ScopeVersion   string
	PlatformLogs   bool // also emit platform.* events as log records
	MaxRecordBytes int  // bound on a log record's body
	Cumulative     bool // metric temporality
	FunctionName   string
	// Concurrent: invocations overlap (Lambda Managed Instances). A log line
	// then belongs to the invocation its request id names, or to the only
	// one in flight; one without a request id while several are in flight
	// is kept without an invocation and counted (MetricUnattributedRecords),
	// never guessed. The invocations in flight are also reported
	// (MetricInvocationsInFlight).
	Concurrent bool
	// Now is the clock and Rand the source of generated ids; tests inject both.
	Now  func() time.Time
	Rand io.Reader
}

// maxTracked bounds the invocations remembered while waiting for their late
// platform.report; older ones are forgotten (their report then counts as a
// report without a known start). Concurrent environments keep more: every
// invocation in flight is remembered, and hundreds may be.
const (
	maxTracked           = 64
	maxTrackedConcurrent = 4096
)

// Translator is safe for concurrent use.
type Translator struct {
	opts     Options
	resource pcommon.Resource

	mu          sync.Mutex
	logs        plog.Logs
	logRecords  plog.LogRecordSlice
	traces      ptrace.Traces
	spans       ptrace.SpanSlice
	metrics     *instruments
	invocations map[string]*invocation
	order       []string                 // request ids, oldest first, for eviction
	started     []*invocation            // by platform.start time, for attributing lines by time
	inFlight    map[*invocation]struct{} // Concurrent: platform.start seen, not finished
	maxTracked  int
	init        initState
	invocationN int
	changed     chan struct{} // closed and replaced at every Add
}

// New returns a translator whose output carries resource.
func New(resource pcommon.Resource, opts Options) *Translator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	t := &Translator{
		opts:        opts,
		resource:    resource,
		invocations: map[string]*invocation{},
		changed:     make(chan struct{}),
		maxTracked:  maxTracked,
	}
	t.metrics = newInstruments(opts.Cumulative, pcommon.NewTimestampFromTime(opts.Now()))
	if opts.Concurrent {
		t.inFlight = map[*invocation]struct{}{}
		t.maxTracked = maxTrackedConcurrent
		// Exported from the start: zero unattributed lines is a result.
		t.metrics.get(MetricUnattributedRecords).add(0)
	}
	t.resetLogs()
	t.resetTraces()
	return t
}

func (t *Translator) resetLogs() {
	t.logs = plog.NewLogs()
	rl := t.logs.ResourceLogs().AppendEmpty()
	t.resource.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(t.opts.ScopeName)
	sl.Scope().SetVersion(t.opts.ScopeVersion)
	t.logRecords = sl.LogRecords()
}

func (t *Translator) resetTraces() {
	t.traces = ptrace.NewTraces()
	rs := t.traces.ResourceSpans().AppendEmpty()
	t.resource.CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(t.opts.ScopeName)
	ss.Scope().SetVersion(t.opts.ScopeVersion)
	t.spans = ss.Spans()
}

// StartInvocation records an INVOKE event from /event/next.
func (t *Translator) StartInvocation(requestID, tracingHeader, functionARN string, deadline time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	inv := t.invocationLocked(requestID)
	inv.invoked = true
	inv.arn = functionARN
	inv.deadline = deadline
	inv.setTracing(tracingHeader)
}

// RuntimeDoneSeen reports whether platform.runtimeDone of requestID has been
// translated; false for an invocation not (or no longer) tracked.
func (t *Translator) RuntimeDoneSeen(requestID string) bool {
	t.mu.Lock()
	inv, ok := t.invocations[requestID]
	t.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-inv.runtimeDone:
		return true
	default:
		return false
	}
}

// WaitRuntimeDone blocks until platform.runtimeDone of requestID has been
// translated or ctx ends; it reports which.
func (t *Translator) WaitRuntimeDone(ctx context.Context, requestID string) bool {
	t.mu.Lock()
	done := t.invocationLocked(requestID).runtimeDone
	t.mu.Unlock()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// PendingReports reports how many known invocations still wait for their
// platform.report (which arrives after the next /event/next; after a
// non-blocking flush, with the rest of the invocation's tail).
func (t *Translator) PendingReports() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, inv := range t.invocations {
		if (inv.invoked || inv.started) && !inv.reported {
			n++
		}
	}
	return n
}

// Count adds n to one of the receiver's own counters (Metric* names).
func (t *Translator) Count(name string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.metrics.get(name).add(float64(n))
}

// Add translates one delivered batch.
func (t *Translator) Add(events []telemetryapi.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range events {
		t.addLocked(&events[i])
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// PendingLogRecords reports how many log records wait for the next Take.
func (t *Translator) PendingLogRecords() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.logRecords.Len()
}

// TakeSignals returns the logs and spans built since the last take; empty
// signals are returned as zero-length values (check with *Count()).
func (t *Translator) TakeSignals() (plog.Logs, ptrace.Traces) {
	t.mu.Lock()
	defer t.mu.Unlock()
	logs, traces := t.logs, t.traces
	t.resetLogs()
	t.resetTraces()
	if logs.LogRecordCount() == 0 {
		logs = plog.NewLogs()
	}
	if traces.SpanCount() == 0 {
		traces = ptrace.NewTraces()
	}
	return logs, traces
}

// TakeMetrics returns the receiver's metrics as of now, with the stats other
// components report in-band (lambdalifecycle), under the same resource.
func (t *Translator) TakeMetrics(stats []lambdalifecycle.Stat) pmetric.Metrics {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics := pmetric.NewMetrics()
	rm := metrics.ResourceMetrics().AppendEmpty()
	t.resource.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(t.opts.ScopeName)
	sm.Scope().SetVersion(t.opts.ScopeVersion)
	now := pcommon.NewTimestampFromTime(t.opts.Now())
	if n := len(t.inFlight); n > 0 {
		// Long invocations are in flight at every emission, not only at their start.
		t.metrics.get(MetricInvocationsInFlight).setMax(float64(n))
	}
	t.metrics.emit(sm, now)
	emitStats(sm, stats, t.metrics.processStart, now)
	if sm.Metrics().Len() == 0 {
		metrics = pmetric.NewMetrics()
	}
	return metrics
}

// Close emits what can only be emitted at the end: an init span whose
// invocation never came.
func (t *Translator) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.init.started && !t.init.emitted {
		t.emitInitLocked()
	}
}

func (t *Translator) invocationLocked(requestID string) *invocation {
	if inv, ok := t.invocations[requestID]; ok {
		return inv
	}
	inv := &invocation{requestID: requestID, runtimeDone: make(chan struct{})}
	t.invocations[requestID] = inv
	t.order = append(t.order, requestID)
	if len(t.order) > t.maxTracked {
		if old := t.invocations[t.order[0]]; old.started {
			t.started = slices.DeleteFunc(t.started, func(i *invocation) bool { return i == old })
			delete(t.inFlight, old)
		}
		delete(t.invocations, t.order[0])
		t.order = t.order[1:]
	}
	return inv
}

// WaitReports blocks until every started invocation has its platform.report
// or ctx ends.
func (t *Translator) WaitReports(ctx context.Context) {
	for {
		t.mu.Lock()
		changed := t.changed
		t.mu.Unlock()
		if t.PendingReports() == 0 {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
