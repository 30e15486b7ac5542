package translator

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// counter is a deterministic id source: 01 02 03 ...
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// step is one line of a scenario: an INVOKE from /event/next or a delivered
// Telemetry API batch.
type step struct {
	Invoke *struct {
		RequestID string `json:"requestId"`
		Tracing   string `json:"tracing"`
		ARN       string `json:"arn"`
	} `json:"invoke"`
	Batch json.RawMessage `json:"batch"`
}

var clock = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)

func newTestTranslator(opts Options) *Translator {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "sentiment")
	opts.ScopeName = "test"
	opts.FunctionName = "sentiment"
	opts.Now = func() time.Time { return clock }
	opts.Rand = &counter{}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = 1 << 10
	}
	return New(res, opts)
}

func replay(t *testing.T, tr *Translator, path string) {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var steps []step
	require.NoError(t, json.Unmarshal(raw, &steps))
	for _, s := range steps {
		if s.Invoke != nil {
			tr.StartInvocation(s.Invoke.RequestID, s.Invoke.Tracing, s.Invoke.ARN, clock.Add(time.Minute))
			continue
		}
		events, err := telemetryapi.DecodeBatch(s.Batch)
		require.NoError(t, err)
		tr.Add(events)
	}
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "cold_start", opts: Options{Cumulative: true}},
		{name: "errors", opts: Options{Cumulative: false, PlatformLogs: true}},
		{name: "report_only", opts: Options{Cumulative: true, MaxRecordBytes: 57}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", tt.name)
			tr := newTestTranslator(tt.opts)
			replay(t, tr, filepath.Join(dir, "events.json"))
			tr.Close()
			logs, traces, metrics := take(tr)
			if *update {
				require.NoError(t, golden.WriteLogs(t, filepath.Join(dir, "logs.yaml"), logs))
				require.NoError(t, golden.WriteTraces(t, filepath.Join(dir, "traces.yaml"), traces))
				require.NoError(t, golden.WriteMetrics(t, filepath.Join(dir, "metrics.yaml"), metrics))
			}
			wantLogs, err := golden.ReadLogs(filepath.Join(dir, "logs.yaml"))
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(wantLogs, logs))
			wantTraces, err := golden.ReadTraces(filepath.Join(dir, "traces.yaml"))
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(wantTraces, traces))
			wantMetrics, err := golden.ReadMetrics(filepath.Join(dir, "metrics.yaml"))
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(wantMetrics, metrics, pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp()))
		})
	}
}

// The invocation span and every log line of the invocation share the trace id
// of the X-Ray header and the span id of platform.start.
func TestLogsCarryInvocationTraceContext(t *testing.T) {
	tr := newTestTranslator(Options{Cumulative: true})
	replay(t, tr, filepath.Join("testdata", "cold_start", "events.json"))
	logs, traces, _ := take(tr)
	wantTrace, _ := parseHex32("0123456789abcdef0123456789abcdef"[:0] + "6745a0000123456789abcdef01234567")
	var server ptrace.Span
	spans := traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		if spans.At(i).Kind() == ptrace.SpanKindServer && spans.At(i).Attributes().AsRaw()["faas.invocation_id"] == "req-1" {
			server = spans.At(i)
		}
	}
	require.Equal(t, wantTrace, server.TraceID())
	assert.Equal(t, "2222222222222222", server.SpanID().String())
	assert.Equal(t, "1111111111111111", server.ParentSpanID().String())
	records := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	n := 0
	for i := range records.Len() {
		lr := records.At(i)
		if id, _ := lr.Attributes().Get(attrInvocationID); id.Str() == "req-1" {
			n++
			assert.Equal(t, server.TraceID(), lr.TraceID())
			assert.Equal(t, server.SpanID(), lr.SpanID())
		}
	}
	assert.Equal(t, 3, n, "two lines during the invocation, one written late (Node prefix) during the next")
}

func parseHex32(s string) (pcommon.TraceID, bool) {
	tc := parseXRayHeader("Root=1-" + s[:8] + "-" + s[8:])
	return tc.traceID, tc.ok
}

// A report that arrives after its runtimeDone adds billing and memory but
// never counts the invocation twice, across flushes.
func TestLateReportCountedOnce(t *testing.T) {
	tr := newTestTranslator(Options{Cumulative: true})
	replay(t, tr, filepath.Join("testdata", "cold_start", "events.json"))
	_, _, first := take(tr)
	_, _, second := take(tr)
	for _, md := range []pmetric.Metrics{first, second} {
		assert.Equal(t, int64(2), sumOf(t, md, MetricInvocations))
	}
}

func sumOf(t *testing.T, md pmetric.Metrics, name string) int64 {
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() == name {
			return ms.At(i).Sum().DataPoints().At(0).IntValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestWaitRuntimeDone(t *testing.T) {
	tr := newTestTranslator(Options{})
	tr.StartInvocation("r", "", "", clock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, tr.WaitRuntimeDone(ctx, "r"), "no runtimeDone yet")
	done := make(chan bool)
	go func() { done <- tr.WaitRuntimeDone(context.Background(), "r") }()
	events, err := telemetryapi.DecodeBatch([]byte(`[{"time":"2026-11-25T10:00:00Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1}}}]`))
	require.NoError(t, err)
	tr.Add(events)
	assert.True(t, <-done)
}

func TestXRayHeader(t *testing.T) {
	tests := []struct {
		header  string
		ok      bool
		trace   string
		parent  string
		sampled bool
	}{
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", true, "5759e988bd862e3fe1be46a994272793", "", false},
		{"Root=1-5759e988-bd862e3fe1be46a99427279", false, "", "", false},
		{"Root=2-5759e988-bd862e3fe1be46a994272793", false, "", "", false},
		{"Root=1-zzzzzzzz-bd862e3fe1be46a994272793", false, "", "", false},
		{"", false, "", "", false},
	}
	for _, tt := range tests {
		tc := parseXRayHeader(tt.header)
		assert.Equal(t, tt.ok, tc.ok, tt.header)
		if tt.ok {
			assert.Equal(t, tt.trace, tc.traceID.String())
			assert.Equal(t, tt.parent, tc.parent.String())
			assert.Equal(t, tt.sampled, tc.sampled)
		}
	}
}

// Lambda gives the runtime (and the INVOKE event) a header whose Parent is the
// function's segment, which platform.start names as the span id: the span's
// parent is then the caller's, from tracing.value, never the span itself.
func TestSpanIsNeverItsOwnParent(t *testing.T) {
	tr := newTestTranslator(Options{})
	tr.StartInvocation("r", "Root=1-6745a000-0123456789abcdef01234567;Parent=2222222222222222;Sampled=1", "", clock)
	events, err := telemetryapi.DecodeBatch([]byte(`[
		{"time":"2026-11-25T10:00:00Z","type":"platform.start","record":{"requestId":"r","tracing":{"spanId":"2222222222222222","type":"X-Amzn-Trace-Id","value":"Root=1-6745a000-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1"}}},
		{"time":"2026-11-25T10:00:01Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1000}}}]`))
	require.NoError(t, err)
	tr.Add(events)
	_, traces, _ := take(tr)
	span := traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, "2222222222222222", span.SpanID().String())
	assert.Equal(t, "1111111111111111", span.ParentSpanID().String())

	tr = newTestTranslator(Options{})
	tr.StartInvocation("r", "Root=1-6745a000-0123456789abcdef01234567;Parent=2222222222222222;Sampled=1", "", clock)
	events, err = telemetryapi.DecodeBatch([]byte(`[
		{"time":"2026-11-25T10:00:00Z","type":"platform.start","record":{"requestId":"r","tracing":{"spanId":"2222222222222222"}}},
		{"time":"2026-11-25T10:00:01Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1000}}}]`))
	require.NoError(t, err)
	tr.Add(events)
	_, traces, _ = take(tr)
	span = traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.True(t, span.ParentSpanID().IsEmpty(), "no caller parent known: a root span")
}

// Output of the runtime's init is not the first invocation's, and a record
// seen before platform.start does not fix the span id: the invocation span
// keeps platform.start's, which the function's own spans name as parent.
func TestRecordsBeforePlatformStart(t *testing.T) {
	tr := newTestTranslator(Options{})
	tr.StartInvocation("r", "Root=1-6745a000-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1", "", clock)
	events, err := telemetryapi.DecodeBatch([]byte(`[
		{"time":"2026-11-25T09:59:59Z","type":"function","record":"init output"},
		{"time":"2026-11-25T09:59:59.5Z","type":"function","record":{"requestId":"r","level":"INFO","message":"early"}},
		{"time":"2026-11-25T10:00:00Z","type":"platform.start","record":{"requestId":"r","tracing":{"spanId":"2222222222222222"}}},
		{"time":"2026-11-25T10:00:00.5Z","type":"function","record":"during"},
		{"time":"2026-11-25T10:00:01Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1000}}}]`))
	require.NoError(t, err)
	tr.Add(events)
	logs, traces, _ := take(tr)
	assert.Equal(t, "2222222222222222", traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID().String())
	records := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, records.Len())
	_, attached := records.At(0).Attributes().Get(attrInvocationID)
	assert.False(t, attached, "init output belongs to no invocation")
	assert.True(t, records.At(0).TraceID().IsEmpty())
	assert.Equal(t, "6745a0000123456789abcdef01234567", records.At(1).TraceID().String(), "a record naming its request gets the trace id")
	assert.True(t, records.At(1).SpanID().IsEmpty(), "but no span id before platform.start")
	assert.Equal(t, "2222222222222222", records.At(2).SpanID().String())
}

// take is what a flush takes: logs, spans and the metrics (no other stats).
func take(tr *Translator) (plog.Logs, ptrace.Traces, pmetric.Metrics) {
	logs, traces := tr.TakeSignals()
	return logs, traces, tr.TakeMetrics(nil)
}

// After a non-blocking flush the tail of invocation a (a line without a
// request id) is delivered after invocation b began: the line's time, not the
// order of arrival, says whose it is. Lines older than every start are
// nobody's (init output).
func TestLinesAttributedByTime(t *testing.T) {
	tr := newTestTranslator(Options{})
	batch := func(s string) {
		events, err := telemetryapi.DecodeBatch([]byte(s))
		require.NoError(t, err)
		tr.Add(events)
	}
	tr.StartInvocation("a", "Root=1-6745a000-0123456789abcdef0123456a;Parent=1111111111111111;Sampled=1", "", clock)
	batch(`[{"time":"2026-11-25T10:00:00.000Z","type":"function","record":"init output"},
	        {"time":"2026-11-25T10:00:01.000Z","type":"platform.start","record":{"requestId":"a"}},
	        {"time":"2026-11-25T10:00:01.010Z","type":"function","record":"a early"}]`)
	tr.StartInvocation("b", "Root=1-6745a000-0123456789abcdef0123456b;Parent=1111111111111111;Sampled=1", "", clock)
	batch(`[{"time":"2026-11-25T10:00:01.020Z","type":"function","record":"a tail"},
	        {"time":"2026-11-25T10:00:01.030Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"success"}},
	        {"time":"2026-11-25T10:00:02.000Z","type":"platform.start","record":{"requestId":"b"}},
	        {"time":"2026-11-25T10:00:02.010Z","type":"function","record":"b line"}]`)
	logs, _, _ := take(tr)
	got := map[string]string{}
	lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		id, _ := lrs.At(i).Attributes().Get("faas.invocation_id")
		got[lrs.At(i).Body().Str()] = id.Str() + " " + lrs.At(i).TraceID().String()
	}
	assert.Equal(t, map[string]string{
		"init output": " ",
		"a early":     "a 6745a0000123456789abcdef0123456a",
		"a tail":      "a 6745a0000123456789abcdef0123456a",
		"b line":      "b 6745a0000123456789abcdef0123456b",
	}, got)
}

// The X-Ray header's Sampled flag is the server span's W3C sampled flag, as
// on the invocation's log records.
func TestServerSpanCarriesTheSampledFlag(t *testing.T) {
	for _, sampled := range []string{"1", "0"} {
		tr := newTestTranslator(Options{})
		tr.StartInvocation("r", "Root=1-6745a000-0123456789abcdef01234567;Parent=2222222222222222;Sampled="+sampled, "", clock)
		events, err := telemetryapi.DecodeBatch([]byte(`[
		{"time":"2026-11-25T10:00:00Z","type":"platform.start","record":{"requestId":"r"}},
		{"time":"2026-11-25T10:00:01Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","metrics":{"durationMs":1000}}}]`))
		require.NoError(t, err)
		tr.Add(events)
		_, traces, _ := take(tr)
		span := traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		assert.Equal(t, sampled == "1", span.Flags()&w3cSampled != 0, "Sampled=%s", sampled)
	}
}
