package jsonlogparseprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The invocation's trace context, as the lambdatelemetry receiver puts it on
// every record of an invocation before this processor runs.
var (
	// The corpus's Powertools lines name this trace (as X-Ray id 1-6744456c-0a1b2c3d4e5f60718293a4b5).
	invocationTrace = pcommon.TraceID{0x67, 0x44, 0x45, 0x6c, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5}
	invocationSpan  = pcommon.SpanID{0x53, 0x9e, 0x3b, 0x5c, 0x1f, 0x2d, 0x4a, 0x60}
)

const (
	// invocationXRay is invocationTrace as an X-Ray id.
	invocationXRay = "1-6744456c-0a1b2c3d4e5f60718293a4b5"
	otherTrace     = "0af7651916cd43dd8448eb211c80319c"
	otherSpan      = "b7ad6b7169203331"
)

func setInvocationContext(lr plog.LogRecord) {
	lr.SetTraceID(invocationTrace)
	lr.SetSpanID(invocationSpan)
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
}

// TestTraceContextPairing checks that a span id only ever travels with the
// trace id it came from: a line that names another trace than the
// invocation's but no span of its own leaves the record without a span id
// (and without the invocation's sampled flag), instead of pairing its trace
// with the invocation's span.
func TestTraceContextPairing(t *testing.T) {
	runTraceCases(t, []traceCase{
		{
			name:      "Powertools xray_trace_id of another trace: no span",
			line:      `{"level":"INFO","message":"continues the SQS message's trace","xray_trace_id":"1-0af76519-16cd43dd8448eb211c80319c"}`,
			wantTrace: otherTrace,
		},
		{
			name:      "Powertools xray_trace_id behind the Python runtime prefix: no span",
			line:      "[INFO]\t2026-11-25T10:00:00.123Z\t79b4f56e-95b1-4643-9700-2807f4e68189\t" + `{"message":"prefixed","xray_trace_id":"1-0af76519-16cd43dd8448eb211c80319c"}`,
			wantTrace: otherTrace,
		},
		{
			name:      "a 32-hex trace id of another trace without a span field: no span",
			line:      `{"msg":"hex trace only","trace_id":"` + otherTrace + `"}`,
			wantTrace: otherTrace,
		},
		{
			name:      "another trace whose span id is invalid: no span",
			line:      `{"msg":"bad span","trace_id":"` + otherTrace + `","span_id":"xyz"}`,
			wantTrace: otherTrace, wantInvalid: 1,
		},
		{
			name:      "another trace with its own span and flags",
			line:      `{"msg":"full pair","trace_id":"` + otherTrace + `","span_id":"` + otherSpan + `","trace_flags":"00"}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
		},
		{
			name:      "another trace with its own span: the invocation's flags go too",
			line:      `{"msg":"no flags","trace_id":"` + otherTrace + `","span_id":"` + otherSpan + `"}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
		},
		{
			name:      "a traceparent brings its own span and flags",
			line:      `{"msg":"w3c","traceparent":"00-` + otherTrace + `-` + otherSpan + `-01"}`,
			wantTrace: otherTrace, wantSpan: otherSpan, wantFlags: 1,
		},
		{
			name:      "the invocation's own trace keeps the invocation's span and flags",
			line:      `{"level":"INFO","message":"same trace","xray_trace_id":"` + invocationXRay + `"}`,
			wantTrace: invocationTrace.String(), wantSpan: invocationSpan.String(), wantFlags: 1,
		},
		{
			name:      "the invocation's own trace with the line's span",
			line:      `{"msg":"same trace, own span","traceId":"` + invocationTrace.String() + `","spanId":"` + otherSpan + `"}`,
			wantTrace: invocationTrace.String(), wantSpan: otherSpan, wantFlags: 1,
		},
		{
			name:      "no trace context in the line keeps the invocation's",
			line:      `{"msg":"plain"}`,
			wantTrace: invocationTrace.String(), wantSpan: invocationSpan.String(), wantFlags: 1,
		},
	})
}

// traceCase is one line parsed with the default config onto a record that
// carries the invocation's trace context.
type traceCase struct {
	name      string
	line      string
	wantTrace string
	wantSpan  string // "" for none
	wantFlags plog.LogRecordFlags
	// wantAttrs, if not nil, are the record's attributes afterwards.
	wantAttrs   map[string]any
	wantInvalid int64
}

func runTraceCases(t *testing.T, cases []traceCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			lr, got, c := parseOne(t, defaultConfig(), func(lr plog.LogRecord) {
				setInvocationContext(lr)
				lr.Body().SetStr(tt.line)
			})
			assert.Equal(t, parsed, got)
			assert.Equal(t, tt.wantInvalid, c.invalidIDs)
			assert.Equal(t, tt.wantTrace, lr.TraceID().String())
			assert.Equal(t, tt.wantSpan, spanString(lr.SpanID()))
			assert.Equal(t, tt.wantFlags, lr.Flags())
			if tt.wantAttrs != nil {
				attrs := lr.Attributes().AsRaw()
				delete(attrs, "@mt")
				assert.Equal(t, tt.wantAttrs, attrs)
			}
		})
	}
}

func spanString(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

// TestTraceFieldSpelling checks that trace context field names match in any
// ASCII case (TraceId/SpanId of Serilog and .NET's Activity, traceID of Go
// loggers) and still pair within their candidate.
func TestTraceFieldSpelling(t *testing.T) {
	runTraceCases(t, []traceCase{
		{
			name:      "Serilog span enricher: TraceId, SpanId, TraceFlags",
			line:      `{"@t":"2026-11-25T10:00:00Z","@mt":"m","TraceId":"` + otherTrace + `","SpanId":"` + otherSpan + `","TraceFlags":"Recorded","ParentId":"0000000000000000"}`,
			wantTrace: otherTrace, wantSpan: otherSpan, wantFlags: 1,
			wantAttrs: map[string]any{"ParentId": "0000000000000000"},
		},
		{
			name:      "Go camel case: traceID, spanID",
			line:      `{"msg":"m","traceID":"` + otherTrace + `","spanID":"` + otherSpan + `"}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
			wantAttrs: map[string]any{},
		},
		{
			name:      "nested ECS objects in another case",
			line:      `{"msg":"m","Trace":{"Id":"` + otherTrace + `"},"Span":{"Id":"` + otherSpan + `"}}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
			wantAttrs: map[string]any{},
		},
		{
			name:      "TraceFlags None",
			line:      `{"msg":"m","TraceId":"` + otherTrace + `","SpanId":"` + otherSpan + `","TraceFlags":"None"}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
			wantAttrs: map[string]any{},
		},
		{
			name:      "of two spellings the later is used and the earlier stays an attribute",
			line:      `{"msg":"m","traceId":"` + invocationTrace.String() + `","TraceId":"` + otherTrace + `"}`,
			wantTrace: otherTrace,
			wantAttrs: map[string]any{"traceId": invocationTrace.String()},
		},
		{
			name:      "a duplicate key: the last one wins",
			line:      `{"msg":"m","TraceId":"` + invocationTrace.String() + `","TraceId":"` + otherTrace + `"}`,
			wantTrace: otherTrace,
			wantAttrs: map[string]any{},
		},
		{
			name:      "a span of another candidate's spelling does not pair",
			line:      `{"msg":"m","TraceId":"` + otherTrace + `","span_id":"` + otherSpan + `"}`,
			wantTrace: otherTrace,
			wantAttrs: map[string]any{"span_id": otherSpan},
		},
	})
}

// TestDatadogIDs checks Datadog's dd.trace_id and dd.span_id: a 128-bit trace
// id logged as 32 hex is a full trace id; a 64-bit decimal one is only the
// low half, so it is used only when it matches the record's own trace and
// otherwise stays an attribute; span ids are decimal.
func TestDatadogIDs(t *testing.T) {
	const (
		// otherSpan in decimal.
		otherSpanDecimal = "13235353014750950193"
		// The low 64 bits of invocationTrace in decimal.
		invocationLowDecimal = "5647338498384176309"
	)
	runTraceCases(t, []traceCase{
		{
			name:      "128-bit trace id as hex, decimal span id (dd-trace-py, dotted keys)",
			line:      `{"message":"m","dd.trace_id":"` + otherTrace + `","dd.span_id":"` + otherSpanDecimal + `","dd.service":"pay"}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
			wantAttrs: map[string]any{"dd.service": "pay"},
		},
		{
			name:      "nested dd object (dd-trace-js)",
			line:      `{"msg":"m","dd":{"trace_id":"` + otherTrace + `","span_id":"` + otherSpanDecimal + `","service":"pay"}}`,
			wantTrace: otherTrace, wantSpan: otherSpan,
			wantAttrs: map[string]any{"dd": map[string]any{"service": "pay"}},
		},
		{
			name:      "64-bit decimal trace id of the record's own trace: its span is used",
			line:      `{"message":"m","dd.trace_id":"` + invocationLowDecimal + `","dd.span_id":"` + otherSpanDecimal + `"}`,
			wantTrace: invocationTrace.String(), wantSpan: otherSpan, wantFlags: 1,
			wantAttrs: map[string]any{},
		},
		{
			name:      "64-bit decimal trace id of another trace: not convertible, both stay attributes",
			line:      `{"message":"m","dd.trace_id":"1234567890123456789","dd.span_id":"` + otherSpanDecimal + `"}`,
			wantTrace: invocationTrace.String(), wantSpan: invocationSpan.String(), wantFlags: 1,
			wantAttrs: map[string]any{"dd.trace_id": "1234567890123456789", "dd.span_id": otherSpanDecimal},
		},
		{
			name:      "ids written as JSON numbers",
			line:      `{"message":"m","dd.trace_id":` + invocationLowDecimal + `,"dd.span_id":` + "1311768467463790320" + `}`,
			wantTrace: invocationTrace.String(), wantSpan: "123456789abcdef0", wantFlags: 1,
			wantAttrs: map[string]any{},
		},
		{
			name:      "no active trace: dd.trace_id 0 is not an id",
			line:      `{"message":"m","dd.trace_id":"0","dd.span_id":"0"}`,
			wantTrace: invocationTrace.String(), wantSpan: invocationSpan.String(), wantFlags: 1,
			wantAttrs: map[string]any{"dd.trace_id": "0", "dd.span_id": "0"}, wantInvalid: 1,
		},
		{
			name:      "a hex span id is not a Datadog span id",
			line:      `{"message":"m","dd.trace_id":"` + otherTrace + `","dd.span_id":"` + otherSpan + `"}`,
			wantTrace: otherTrace,
			wantAttrs: map[string]any{"dd.span_id": otherSpan}, wantInvalid: 1,
		},
		{
			name:      "a span id beyond 64 bits is invalid",
			line:      `{"message":"m","dd.trace_id":"` + otherTrace + `","dd.span_id":"18446744073709551616"}`,
			wantTrace: otherTrace,
			wantAttrs: map[string]any{"dd.span_id": "18446744073709551616"}, wantInvalid: 1,
		},
		{
			name:      "Google Cloud trace name, span id and sampled flag",
			line:      `{"message":"m","logging.googleapis.com/trace":"projects/my-project/traces/` + otherTrace + `","logging.googleapis.com/spanId":"` + otherSpan + `","logging.googleapis.com/trace_sampled":true}`,
			wantTrace: otherTrace, wantSpan: otherSpan, wantFlags: 1,
			wantAttrs: map[string]any{},
		},
	})
}
