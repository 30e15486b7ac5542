package invocationsamplingprocessor

import (
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var alwaysSample = sampling.AlwaysSampleThreshold

func annotateTraces(td ptrace.Traces, d *decision) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				annotateSpan(span, d)
			}
		}
	}
}

func annotateLogs(ld plog.Logs, d *decision) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				annotateLog(lr, d)
			}
		}
	}
}

// annotateSpan names the policy and records the threshold in the span's
// tracestate (ot=th), keeping a lower probability set upstream and any
// other vendor's entries. An unparsable tracestate is left as it is.
func annotateSpan(span ptrace.Span, d *decision) {
	span.Attributes().PutStr(attrReason, d.reason)
	raw := span.TraceState().AsRaw()
	if raw == "" {
		span.TraceState().FromRaw(d.traceState)
		return
	}
	ts, err := sampling.NewW3CTraceState(raw)
	if err != nil {
		return
	}
	if err := ts.OTelValue().UpdateTValueWithSampling(d.threshold); err != nil {
		return // upstream sampled with a lower probability: its th stands
	}
	var b strings.Builder
	if err := ts.Serialize(&b); err == nil {
		span.TraceState().FromRaw(b.String())
	}
}

// annotateLog names the policy and sets the sampling.threshold attribute,
// unless one set upstream says a lower probability.
func annotateLog(lr plog.LogRecord, d *decision) {
	attrs := lr.Attributes()
	attrs.PutStr(attrReason, d.reason)
	if v, ok := attrs.Get(attrThreshold); ok {
		if th, err := sampling.TValueToThreshold(v.Str()); err == nil && sampling.ThresholdGreater(th, d.threshold) {
			return
		}
	}
	attrs.PutStr(attrThreshold, d.tvalue)
}
