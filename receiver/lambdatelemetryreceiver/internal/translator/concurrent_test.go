package translator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// Lambda Managed Instances: three invocations overlap, known only from the
// Telemetry API (no INVOKE). A line goes to the invocation its request id
// names (Lambda's JSON format, a runtime's text prefix), or to the only one
// in flight; a line without one while several are in flight is nobody's and
// counted; a line between invocations is nobody's and not counted.
func TestConcurrentAttribution(t *testing.T) {
	tr := newTestTranslator(Options{Concurrent: true, Cumulative: true})
	batch := func(s string) {
		events, err := telemetryapi.DecodeBatch([]byte(s))
		require.NoError(t, err)
		tr.Add(events)
	}
	start := func(at, id string) string {
		return `{"time":"` + at + `","type":"platform.start","record":{"requestId":"` + id + `","tracing":{"spanId":"` + id + id + `","type":"X-Amzn-Trace-Id","value":"Root=1-6745a000-0123456789abcdef0123456` + id[:1] + `;Parent=1111111111111111;Sampled=1"}}}`
	}
	done := func(at, id string) string {
		return `{"time":"` + at + `","type":"platform.runtimeDone","record":{"requestId":"` + id + `","status":"success","metrics":{"durationMs":10,"producedBytes":2}}}`
	}
	report := func(at, id string) string {
		return `{"time":"` + at + `","type":"platform.report","record":{"requestId":"` + id + `","status":"success","metrics":{"durationMs":11,"billedDurationMs":11,"memorySizeMB":2048,"maxMemoryUsedMB":300}}}`
	}
	const a, b, c = "aaaaaaaa", "bbbbbbbb", "cccccccc"
	batch(`[{"time":"2026-11-25T10:00:00.000Z","type":"platform.initStart","record":{"initializationType":"lambda-managed-instances","phase":"init"}},
	        {"time":"2026-11-25T10:00:00.001Z","type":"function","record":"init output"},
	        ` + start("2026-11-25T10:00:01.000Z", a) + `,
	        {"time":"2026-11-25T10:00:01.001Z","type":"function","record":"only a in flight"},
	        ` + start("2026-11-25T10:00:01.002Z", b) + `,
	        ` + start("2026-11-25T10:00:01.003Z", c) + `,
	        {"time":"2026-11-25T10:00:01.004Z","type":"function","record":"[INFO]\t2026-11-25T10:00:01.004Z\t` + b + `\tpython prefix"},
	        {"time":"2026-11-25T10:00:01.005Z","type":"function","record":"2026-11-25T10:00:01.005Z\t` + a + `\tINFO\tnode prefix"},
	        {"time":"2026-11-25T10:00:01.006Z","type":"function","record":{"timestamp":"2026-11-25T10:00:01.006Z","level":"INFO","requestId":"` + c + `","message":"json format"}},
	        {"time":"2026-11-25T10:00:01.007Z","type":"function","record":"no id, three in flight"}]`)
	batch(`[` + done("2026-11-25T10:00:01.010Z", a) + `,
	        ` + report("2026-11-25T10:00:01.011Z", a) + `,
	        {"time":"2026-11-25T10:00:01.012Z","type":"function","record":"no id, two in flight"},
	        ` + done("2026-11-25T10:00:01.013Z", b) + `,
	        {"time":"2026-11-25T10:00:01.014Z","type":"function","record":"no id, only c in flight"},
	        ` + done("2026-11-25T10:00:01.015Z", c) + `,
	        {"time":"2026-11-25T10:00:01.016Z","type":"function","record":"no id, none in flight"},
	        ` + report("2026-11-25T10:00:01.017Z", b) + `,` + report("2026-11-25T10:00:01.018Z", c) + `]`)
	tr.Close()

	logs, traces, metrics := take(tr)
	got := map[string]string{}
	lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		id, _ := lrs.At(i).Attributes().Get("faas.invocation_id")
		got[lrs.At(i).Body().Str()] = id.Str() + " " + lrs.At(i).SpanID().String()
	}
	assert.Equal(t, map[string]string{
		"init output":      " ",
		"only a in flight": a + " " + a + a,
		"[INFO]\t2026-11-25T10:00:01.004Z\t" + b + "\tpython prefix":                                              b + " " + b + b,
		"2026-11-25T10:00:01.005Z\t" + a + "\tINFO\tnode prefix":                                                  a + " " + a + a,
		`{"timestamp":"2026-11-25T10:00:01.006Z","level":"INFO","requestId":"` + c + `","message":"json format"}`: c + " " + c + c,
		"no id, three in flight":  " ",
		"no id, two in flight":    " ",
		"no id, only c in flight": c + " " + c + c,
		"no id, none in flight":   " ",
	}, got)

	servers := map[string]string{}
	spans := traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		if s := spans.At(i); s.Kind() == ptrace.SpanKindServer {
			id, _ := s.Attributes().Get("faas.invocation_id")
			cold, _ := s.Attributes().Get("faas.coldstart")
			assert.False(t, cold.Bool(), "the init of a managed instance runs ahead of any request")
			servers[id.Str()] = s.SpanID().String()
		}
	}
	assert.Equal(t, map[string]string{a: a + a, b: b + b, c: c + c}, servers, "one server span per invocation")

	assert.Equal(t, int64(2), sumOf(t, metrics, MetricUnattributedRecords))
	assert.Equal(t, int64(3), sumOf(t, metrics, MetricInvocations))
	assert.Equal(t, 3.0, gaugeOf(t, metrics, MetricInvocationsInFlight), "the peak since the last emission")
	assert.Equal(t, uint64(3), histogramOf(t, metrics, MetricMemUsage).Count())
}

// Invocations still in flight at an emission are reported then, and the
// peak is the most since the previous emission.
func TestInvocationsInFlightPerEmission(t *testing.T) {
	tr := newTestTranslator(Options{Concurrent: true, Cumulative: true})
	add := func(s string) {
		events, err := telemetryapi.DecodeBatch([]byte(s))
		require.NoError(t, err)
		tr.Add(events)
	}
	add(`[{"time":"2026-11-25T10:00:01Z","type":"platform.start","record":{"requestId":"a"}},
	      {"time":"2026-11-25T10:00:01Z","type":"platform.start","record":{"requestId":"b"}},
	      {"time":"2026-11-25T10:00:02Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"success"}}]`)
	assert.Equal(t, 2.0, gaugeOf(t, tr.TakeMetrics(nil), MetricInvocationsInFlight))
	assert.Equal(t, 1.0, gaugeOf(t, tr.TakeMetrics(nil), MetricInvocationsInFlight), "b is still in flight")
	add(`[{"time":"2026-11-25T10:00:03Z","type":"platform.runtimeDone","record":{"requestId":"b","status":"success"}}]`)
	_, found := findMetric(tr.TakeMetrics(nil), MetricInvocationsInFlight)
	assert.False(t, found, "nothing in flight and no start since the last emission")
}

func findMetric(md pmetric.Metrics, name string) (pmetric.Metric, bool) {
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() == name {
			return ms.At(i), true
		}
	}
	return pmetric.Metric{}, false
}

func gaugeOf(t *testing.T, md pmetric.Metrics, name string) float64 {
	m, ok := findMetric(md, name)
	require.True(t, ok, "metric %s", name)
	return m.Gauge().DataPoints().At(0).DoubleValue()
}

func histogramOf(t *testing.T, md pmetric.Metrics, name string) pmetric.HistogramDataPoint {
	m, ok := findMetric(md, name)
	require.True(t, ok, "metric %s", name)
	return m.Histogram().DataPoints().At(0)
}
