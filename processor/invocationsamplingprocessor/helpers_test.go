package invocationsamplingprocessor

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor/internal/metadata"
)

// start is the time of the first test invocation.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// inv describes one invocation as the lambdatelemetry receiver reports it.
type inv struct {
	id       string
	trace    pcommon.TraceID
	status   string // aws.lambda.status
	cold     bool
	duration time.Duration
	sampled  bool // the X-Ray header's Sampled=1 on its log records
	at       time.Duration
}

// traceWithRandomness is a trace id whose lower 56 bits (what consistent
// samplers compare with their threshold) are rnd.
func traceWithRandomness(n byte, rnd uint64) pcommon.TraceID {
	var id pcommon.TraceID
	id[0] = n
	binary.BigEndian.PutUint64(id[8:], rnd&(1<<56-1))
	return id
}

func spanID(trace pcommon.TraceID, n byte) pcommon.SpanID {
	return pcommon.SpanID{trace[0], 0, 0, 0, 0, 0, 0, n}
}

// serverSpans is what the receiver emits when an invocation ends: its
// server span and a phase child, in the receiver's scope.
func serverSpans(invs ...inv) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("faas.name", "sentiment")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(receiverScope)
	for _, v := range invs {
		s := ss.Spans().AppendEmpty()
		s.SetName("sentiment")
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(v.trace)
		s.SetSpanID(spanID(v.trace, 1))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(v.at)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(v.at + v.duration)))
		s.Attributes().PutStr("faas.invocation_id", v.id)
		s.Attributes().PutBool("faas.coldstart", v.cold)
		s.Attributes().PutStr("aws.lambda.status", v.status)
		if v.status != "success" {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		c := ss.Spans().AppendEmpty()
		c.SetName("responseLatency")
		c.SetTraceID(v.trace)
		c.SetSpanID(spanID(v.trace, 2))
		c.SetParentSpanID(spanID(v.trace, 1))
		c.Attributes().PutStr("faas.invocation_id", v.id)
	}
	return td
}

// functionSpans is the function's own export: one span per invocation in
// its trace, without an invocation id (an SDK that does not set one).
func functionSpans(invs ...inv) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "sentiment-function")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("sentiment-sdk")
	for _, v := range invs {
		s := ss.Spans().AppendEmpty()
		s.SetName("inference")
		s.SetTraceID(v.trace)
		s.SetSpanID(spanID(v.trace, 3))
		s.SetParentSpanID(spanID(v.trace, 1))
	}
	return td
}

// functionLogs is n log lines per invocation as the receiver emits them.
func functionLogs(n int, invs ...inv) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("faas.name", "sentiment")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(receiverScope)
	for _, v := range invs {
		for i := range n {
			lr := sl.LogRecords().AppendEmpty()
			lr.Body().SetStr("line " + string(rune('a'+i)) + " of " + v.id)
			lr.Attributes().PutStr("faas.invocation_id", v.id)
			lr.SetTraceID(v.trace)
			lr.SetSpanID(spanID(v.trace, 1))
			if v.sampled {
				lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
			}
		}
	}
	return ld
}

// harness is one sampler shared by a traces and a logs processor, as in a
// collector, with sinks behind them and its own lifecycle registry.
type harness struct {
	t        *testing.T
	registry *lambdalifecycle.Registry
	traces   processor.Traces
	logs     processor.Logs
	spans    *consumertest.TracesSink
	records  *consumertest.LogsSink
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{t: t, registry: &lambdalifecycle.Registry{}, spans: new(consumertest.TracesSink), records: new(consumertest.LogsSink)}
	f := newFactory(h.registry)
	set := processortest.NewNopSettings(metadata.Type)
	var err error
	h.traces, err = f.CreateTraces(context.Background(), set, cfg, h.spans)
	require.NoError(t, err)
	h.logs, err = f.CreateLogs(context.Background(), set, cfg, h.records)
	require.NoError(t, err)
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, h.logs.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, h.traces.Shutdown(context.Background()))
		require.NoError(t, h.logs.Shutdown(context.Background()))
	})
	return h
}

func (h *harness) consumeTraces(td ptrace.Traces) {
	h.t.Helper()
	require.NoError(h.t, h.traces.ConsumeTraces(context.Background(), td))
}

func (h *harness) consumeLogs(ld plog.Logs) {
	h.t.Helper()
	require.NoError(h.t, h.logs.ConsumeLogs(context.Background(), ld))
}

// run feeds one invocation in the order Lambda delivers it: log lines,
// the function's spans (its SDK flushes before responding), the end.
func (h *harness) run(invs ...inv) {
	h.t.Helper()
	for _, v := range invs {
		h.consumeLogs(functionLogs(2, v))
		h.consumeTraces(functionSpans(v))
		h.consumeTraces(serverSpans(v))
	}
}

// allSpans merges what reached the traces sink.
func (h *harness) allSpans() ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range h.spans.AllTraces() {
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		cp.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

func (h *harness) allLogs() plog.Logs {
	out := plog.NewLogs()
	for _, ld := range h.records.AllLogs() {
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		cp.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

// byInvocation counts what arrived per invocation id (spans without one
// by trace id) and each record's sampling.reason.
type arrived struct {
	spans, logs map[string]int
	reasons     map[string]string
	traceStates map[string]string
	thresholds  map[string]string
}

func (h *harness) arrived(invs ...inv) arrived {
	byTrace := map[pcommon.TraceID]string{}
	for _, v := range invs {
		byTrace[v.trace] = v.id
	}
	a := arrived{spans: map[string]int{}, logs: map[string]int{}, reasons: map[string]string{}, traceStates: map[string]string{}, thresholds: map[string]string{}}
	td := h.allSpans()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				id := byTrace[s.TraceID()]
				a.spans[id]++
				r, _ := s.Attributes().Get(attrReason)
				a.reasons[id] = r.Str()
				a.traceStates[id] = s.TraceState().AsRaw()
			}
		}
	}
	ld := h.allLogs()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				id, _ := lr.Attributes().Get("faas.invocation_id")
				a.logs[id.Str()]++
				th, _ := lr.Attributes().Get(attrThreshold)
				a.thresholds[id.Str()] = th.Str()
			}
		}
	}
	return a
}

// stat returns the value of the stat named name with attrs.
func (h *harness) stat(name string, attrs map[string]string) float64 {
	for _, s := range h.registry.Stats() {
		if s.Name != statsPrefix+name {
			continue
		}
		match := true
		for k, v := range attrs {
			match = match && s.Attributes[k] == v
		}
		if match {
			return s.Value
		}
	}
	return 0
}
