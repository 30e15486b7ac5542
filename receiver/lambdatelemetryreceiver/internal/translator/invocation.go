package translator

import (
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// invocation merges what INVOKE, platform.start, platform.runtimeDone and
// platform.report say about one request, whichever order they arrive in.
type invocation struct {
	requestID string
	arn       string
	deadline  time.Time
	trace     traceContext
	spanID    pcommon.SpanID
	// callerParent is the Parent of the header in platform events'
	// tracing.value, which can differ from the INVOKE event's.
	callerParent pcommon.SpanID
	version      string

	coldStart   bool
	invoked     bool // INVOKE seen
	startTime   time.Time
	started     bool // platform.start seen
	done        bool // runtimeDone translated (span and counts emitted)
	reported    bool // platform.report translated
	runtimeMs   float64
	runtimeDone chan struct{}
}

func (inv *invocation) setTracing(header string) {
	if header == "" {
		return
	}
	tc := parseXRayHeader(header)
	if !tc.parent.IsEmpty() {
		inv.callerParent = tc.parent
	}
	if !inv.trace.ok {
		inv.trace = tc
	}
}

// parent is the invocation span's parent. When a header's Parent names the
// invocation span itself (the header Lambda gives the runtime points at the
// function's segment), the caller's Parent from the platform events is used,
// else none: a span is never its own parent.
func (inv *invocation) parent() pcommon.SpanID {
	for _, p := range []pcommon.SpanID{inv.trace.parent, inv.callerParent} {
		if p != inv.spanID {
			return p
		}
	}
	return pcommon.SpanID{}
}

// ids returns the invocation's trace and span ids, generating those the
// platform did not give (AWS: trace id from X-Ray Root, span id from
// tracing.spanId). Once handed out they never change, so logs and span agree.
func (inv *invocation) ids(t *Translator) (pcommon.TraceID, pcommon.SpanID) {
	if !inv.trace.ok {
		inv.trace = traceContext{traceID: t.newTraceID(), ok: true}
	}
	if inv.spanID.IsEmpty() {
		inv.spanID = t.newSpanID()
	}
	return inv.trace.traceID, inv.spanID
}

func (t *Translator) onStart(ev *telemetryapi.Event, p *telemetryapi.Platform) {
	inv := t.invocationLocked(p.RequestID)
	if inv.started {
		return // a redelivered event
	}
	inv.started = true
	inv.startTime = ev.Time
	inv.version = p.Version
	t.setPlatformTracing(inv, p.Tracing)
	t.invocationN++
	inv.coldStart = t.invocationN == 1 && t.init.coldStartType()
	if t.inFlight != nil && !inv.done {
		t.inFlight[inv] = struct{}{}
		t.metrics.get(MetricInvocationsInFlight).setMax(float64(len(t.inFlight)))
	}
	// Kept in start order (deliveries are in order, so this is an append).
	i := len(t.started)
	for i > 0 && t.started[i-1].startTime.After(inv.startTime) {
		i--
	}
	t.started = slices.Insert(t.started, i, inv)
}

// invocationAt is the invocation a line without a request id belongs to: the
// last one started at or before the line's time. Invocations of one
// environment do not overlap, so this holds whenever the line is delivered,
// also after the next invocation began (a non-blocking flush lets the
// environment freeze before the tail of an invocation is delivered). Lines
// older than every known start (init output) belong to none.
func (t *Translator) invocationAt(at time.Time) *invocation {
	for i := len(t.started) - 1; i >= 0; i-- {
		if !t.started[i].startTime.After(at) {
			return t.started[i]
		}
	}
	return nil
}

// soleInFlight is, in a concurrent environment, the invocation a line
// without a request id belongs to: the one in flight when it was delivered
// (the Telemetry API delivers in order, so that is when it was written), if
// there is exactly one. With several it is unknown: the line is counted and
// belongs to none. Between invocations it belongs to none, as init output.
func (t *Translator) soleInFlight() *invocation {
	switch len(t.inFlight) {
	case 0:
		return nil
	case 1:
		for inv := range t.inFlight {
			return inv
		}
	}
	t.metrics.get(MetricUnattributedRecords).add(1)
	return nil
}

// setPlatformTracing takes the tracing object of platform.start or
// runtimeDone: the span id, unless ids were already handed out to logs.
func (t *Translator) setPlatformTracing(inv *invocation, tr *telemetryapi.Tracing) {
	if tr == nil {
		return
	}
	inv.setTracing(tr.Value)
	if id, ok := parseSpanID(tr.SpanID); ok && inv.spanID.IsEmpty() {
		inv.spanID = id
	}
}

func (t *Translator) onRuntimeDone(ev *telemetryapi.Event, p *telemetryapi.Platform) {
	inv := t.invocationLocked(p.RequestID)
	t.setPlatformTracing(inv, p.Tracing)
	if inv.done {
		return // a redelivered event must not count twice
	}
	var durationMs float64
	var producedBytes *int64
	if p.Metrics != nil {
		durationMs = p.Metrics.DurationMs
		producedBytes = p.Metrics.ProducedBytes
	}
	inv.runtimeMs = durationMs
	t.finishLocked(inv, ev.Time, p.Status, p.ErrorType, durationMs, p.Spans)
	if producedBytes != nil {
		t.metrics.get(MetricProducedBytes).add(float64(*producedBytes))
	}
	t.metrics.get(MetricInvokeDuration).record(durationMs / 1e3)
	close(inv.runtimeDone)
}

func (t *Translator) onReport(ev *telemetryapi.Event, p *telemetryapi.Platform) {
	inv := t.invocationLocked(p.RequestID)
	if inv.reported {
		return
	}
	inv.reported = true
	m := p.Metrics
	if m == nil {
		m = &telemetryapi.Metrics{}
	}
	if !inv.done {
		// runtimeDone never reached us: the report is the only record of the
		// invocation, so it makes the span and the counts instead.
		t.finishLocked(inv, ev.Time, p.Status, p.ErrorType, m.DurationMs, p.Spans)
		t.metrics.get(MetricInvokeDuration).record(m.DurationMs / 1e3)
		close(inv.runtimeDone)
	} else if post := m.DurationMs - inv.runtimeMs; post >= 0 {
		t.metrics.get(MetricPostRuntimeDuration).record(post / 1e3)
	}
	t.metrics.get(MetricBilledDuration).add(m.BilledDurationMs / 1e3)
	t.metrics.get(MetricMemUsage).record(float64(m.MaxMemoryUsedMB) * (1 << 20))
	if m.MemorySizeMB > 0 {
		t.metrics.get(MetricMemUtilization).set(float64(m.MaxMemoryUsedMB) / float64(m.MemorySizeMB))
	}
}

// finishLocked emits the invocation's server span (with its phase children)
// and counts the invocation.
func (t *Translator) finishLocked(inv *invocation, end time.Time, status, errorType string, durationMs float64, phases []telemetryapi.Span) {
	inv.done = true
	delete(t.inFlight, inv)
	traceID, spanID := inv.ids(t)
	start := inv.startTime
	if !inv.started || start.IsZero() {
		start = end.Add(-time.Duration(durationMs * float64(time.Millisecond)))
	}

	span := t.spans.AppendEmpty()
	span.SetTraceID(traceID)
	span.SetSpanID(spanID)
	span.SetParentSpanID(inv.parent())
	span.SetName(t.opts.FunctionName)
	span.SetKind(ptrace.SpanKindServer)
	if inv.trace.sampled {
		// The X-Ray header's Sampled=1 as the W3C sampled flag, as on the
		// invocation's log records: samplers downstream may honour it.
		span.SetFlags(w3cSampled)
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(durationMs * float64(time.Millisecond)))))
	attrs := span.Attributes()
	attrs.PutStr("faas.invocation_id", inv.requestID)
	attrs.PutBool("faas.coldstart", inv.coldStart)
	if inv.arn != "" {
		attrs.PutStr("cloud.resource_id", inv.arn)
	}
	if inv.version != "" {
		attrs.PutStr("faas.version", inv.version)
	}
	if status != "" {
		attrs.PutStr("aws.lambda.status", status)
	}
	t.metrics.get(MetricInvocations).add(1)
	if inv.coldStart {
		t.metrics.get(MetricColdStarts).add(1)
	}
	if failed := !strings.EqualFold(status, "success") && status != ""; failed {
		span.Status().SetCode(ptrace.StatusCodeError)
		et := errorType
		if et == "" {
			et = status
		}
		attrs.PutStr("error.type", et)
		span.Status().SetMessage(et)
		if strings.EqualFold(status, "timeout") {
			t.metrics.get(MetricTimeouts).add(1)
		} else {
			t.metrics.get(MetricErrors).add(1)
		}
	}
	for _, ph := range phases {
		child := t.spans.AppendEmpty()
		child.SetTraceID(traceID)
		child.SetSpanID(t.newSpanID())
		child.SetParentSpanID(spanID)
		child.SetName(ph.Name)
		child.SetKind(ptrace.SpanKindInternal)
		child.SetStartTimestamp(pcommon.NewTimestampFromTime(ph.Start))
		child.SetEndTimestamp(pcommon.NewTimestampFromTime(ph.Start.Add(time.Duration(ph.DurationMs * float64(time.Millisecond)))))
		child.Attributes().PutStr("faas.invocation_id", inv.requestID)
	}
	if inv.coldStart && !t.init.emitted {
		t.init.firstTrace, t.init.firstSpan = traceID, spanID
		t.init.linked = true
		if t.init.complete() {
			t.emitInitLocked()
		}
	}
}
