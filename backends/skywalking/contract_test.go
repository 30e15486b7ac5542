package skywalking

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The checks below are what the OAP's OTLP handlers need of the data
// (OpenTelemetryLogHandler, OpenTelemetryMetricRequestProcessor and
// OpenTelemetryTraceHandler of apache/skywalking 10.3 and 10.4). Each returns
// the violations it found, one sentence each, so a test can show both that
// the preset's output has none and that a bad input is caught.

var lowerHex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// swAttrs names the record attributes the preset's jsonlogparse writes in
// SkyWalking mode and the LAL rule reads.
type swAttrs struct{ traceID, level string }

// resourceViolations: service.name is mandatory (a log without it is
// discarded) and must be lower-case (Zipkin lower-cases trace service names);
// service.instance.id names the instance on 10.4+; the OAP collects resource
// attributes with Collectors.toMap, which fails the whole request on a
// repeated key.
func resourceViolations(signal string, res pcommon.Resource) []string {
	var v []string
	attrs := res.Attributes()
	v = append(v, repeatedKeys(signal+" resource", attrs)...)
	name, ok := attrs.Get("service.name")
	switch {
	case !ok || name.Type() != pcommon.ValueTypeStr || name.Str() == "":
		v = append(v, signal+" resource: no service.name (the OAP discards the data)")
	case strings.ToLower(name.Str()) != name.Str():
		v = append(v, fmt.Sprintf("%s resource: service.name %q is not lower-case (Zipkin lower-cases it: traces and logs/metrics would name two services)", signal, name.Str()))
	}
	if id, ok := attrs.Get("service.instance.id"); !ok || id.AsString() == "" {
		v = append(v, signal+" resource: no service.instance.id (the instance on OAP 10.4+)")
	}
	return v
}

func repeatedKeys(where string, m pcommon.Map) []string {
	var v []string
	seen := map[string]bool{}
	for k := range m.All() {
		if seen[k] {
			v = append(v, fmt.Sprintf("%s: key %q repeated (the OAP drops the record)", where, k))
		}
		seen[k] = true
	}
	return v
}

// recordViolations: the OTLP log handler keeps only a string body,
// stringifies scalar attributes (maps and bytes become "", arrays protobuf
// text), drops a record with a repeated attribute key, reads time_unix_nano
// but not the record's trace id, span id or severity: correlation needs the
// trace id as a 32-lowercase-hex attribute, searching by level a `level`
// attribute.
func recordViolations(lr plog.LogRecord, names swAttrs) []string {
	where := fmt.Sprintf("log record %q", clip(lr.Body().AsString()))
	var v []string
	if lr.Body().Type() != pcommon.ValueTypeStr {
		v = append(v, fmt.Sprintf("%s: body is %s, not a string (the OAP stores it as empty text)", where, lr.Body().Type()))
	}
	if lr.Timestamp() == 0 {
		v = append(v, where+": no time_unix_nano (the only time the OAP reads)")
	}
	v = append(v, repeatedKeys(where+" attributes", lr.Attributes())...)
	for k, val := range lr.Attributes().All() {
		switch val.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		default:
			v = append(v, fmt.Sprintf("%s: attribute %q is a %s, not a scalar", where, k, val.Type()))
		}
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		got, ok := lr.Attributes().Get(names.traceID)
		switch want := hex.EncodeToString(id[:]); {
		case !ok:
			v = append(v, fmt.Sprintf("%s: trace id %s only in the record's field, not in attribute %q (the OAP cannot correlate it)", where, want, names.traceID))
		case got.Type() != pcommon.ValueTypeStr || !lowerHex32.MatchString(got.Str()):
			v = append(v, fmt.Sprintf("%s: attribute %q = %q is not 32 lowercase hex", where, names.traceID, got.AsString()))
		case got.Str() != want:
			v = append(v, fmt.Sprintf("%s: attribute %q = %s differs from the record's trace id %s", where, names.traceID, got.Str(), want))
		}
	}
	if lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		if _, ok := lr.Attributes().Get(names.level); !ok {
			v = append(v, fmt.Sprintf("%s: has a severity but no %q attribute (the OAP's searchable level tag)", where, names.level))
		}
	}
	return v
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// metricViolations: a delta sum reaches MAL as a gauge and an unspecified
// temporality is dropped, so every sum and histogram must be cumulative.
func metricViolations(md pmetric.Metrics) []string {
	var v []string
	for _, rm := range md.ResourceMetrics().All() {
		v = append(v, resourceViolations("metrics", rm.Resource())...)
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				var temp pmetric.AggregationTemporality
				switch m.Type() {
				case pmetric.MetricTypeSum:
					temp = m.Sum().AggregationTemporality()
				case pmetric.MetricTypeHistogram:
					temp = m.Histogram().AggregationTemporality()
				case pmetric.MetricTypeExponentialHistogram:
					temp = m.ExponentialHistogram().AggregationTemporality()
				default:
					continue
				}
				if temp != pmetric.AggregationTemporalityCumulative {
					v = append(v, fmt.Sprintf("metric %q: %s temporality, not cumulative", m.Name(), temp))
				}
			}
		}
	}
	return v
}

// traceViolations: OTLP spans become Zipkin spans named by service.name.
func traceViolations(td ptrace.Traces) []string {
	var v []string
	for _, rs := range td.ResourceSpans().All() {
		v = append(v, resourceViolations("traces", rs.Resource())...)
	}
	return v
}

// histogramViolations checks a derived histogram as the MAL rule reads it:
// cumulative, in milliseconds, with the preset's bounds and labels.
func histogramViolations(m pmetric.Metric, bounds []float64, labels []string) []string {
	if m.Type() != pmetric.MetricTypeHistogram {
		return []string{fmt.Sprintf("metric %q is a %s, not a histogram", m.Name(), m.Type())}
	}
	var v []string
	if m.Unit() != "ms" {
		v = append(v, fmt.Sprintf("metric %q: unit %q, not ms", m.Name(), m.Unit()))
	}
	if m.Histogram().AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
		v = append(v, fmt.Sprintf("metric %q: not cumulative", m.Name()))
	}
	for _, dp := range m.Histogram().DataPoints().All() {
		if got := dp.ExplicitBounds().AsRaw(); !slices.Equal(got, bounds) {
			v = append(v, fmt.Sprintf("metric %q: bounds %v, want %v", m.Name(), got, bounds))
		}
		for _, l := range labels {
			if _, ok := dp.Attributes().Get(l); !ok {
				v = append(v, fmt.Sprintf("metric %q: data point without label %q", m.Name(), l))
			}
		}
	}
	return v
}

// TestContractChecksCatchViolations feeds each check an input that breaks
// one point of the contract, so the export test's empty results mean
// something.
func TestContractChecksCatchViolations(t *testing.T) {
	names := swAttrs{traceID: "trace_id", level: "level"}
	traceID := pcommon.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	record := func(edit func(lr plog.LogRecord)) []string {
		lr := plog.NewLogRecord()
		lr.SetTimestamp(1)
		lr.Body().SetStr("line")
		edit(lr)
		return recordViolations(lr, names)
	}
	resource := func(attrs map[string]any) []string {
		res := pcommon.NewResource()
		_ = res.Attributes().FromRaw(attrs)
		return resourceViolations("logs", res)
	}
	histogram := func(edit func(m pmetric.Metric)) []string {
		m := pmetric.NewMetric()
		m.SetName("inference_duration_ms")
		m.SetUnit("ms")
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := h.DataPoints().AppendEmpty()
		dp.ExplicitBounds().FromRaw([]float64{5, 10})
		dp.Attributes().PutStr("model_name", "m")
		edit(m)
		return histogramViolations(m, []float64{5, 10}, []string{"model_name"})
	}
	valid := map[string]any{"service.name": "svc", "service.instance.id": "i-1"}
	for _, tc := range []struct {
		name string
		got  []string
		want string // "" means no violation
	}{
		{"valid record", record(func(plog.LogRecord) {}), ""},
		{"map body", record(func(lr plog.LogRecord) { lr.Body().SetEmptyMap().PutStr("k", "v") }), "not a string"},
		{"map attribute", record(func(lr plog.LogRecord) { lr.Attributes().PutEmptyMap("http").PutInt("status", 200) }), `attribute "http" is a Map`},
		{"bytes attribute", record(func(lr plog.LogRecord) { lr.Attributes().PutEmptyBytes("raw").FromRaw([]byte{1}) }), `attribute "raw" is a Bytes`},
		{"no timestamp", record(func(lr plog.LogRecord) { lr.SetTimestamp(0) }), "no time_unix_nano"},
		{"trace id only in the field", record(func(lr plog.LogRecord) { lr.SetTraceID(traceID) }), "only in the record's field"},
		{"trace id attribute upper-case", record(func(lr plog.LogRecord) {
			lr.SetTraceID(traceID)
			lr.Attributes().PutStr("trace_id", strings.ToUpper(hex.EncodeToString(traceID[:])))
		}), "not 32 lowercase hex"},
		{"trace id attribute of another trace", record(func(lr plog.LogRecord) {
			lr.SetTraceID(traceID)
			lr.Attributes().PutStr("trace_id", strings.Repeat("0a", 16))
		}), "differs from the record's trace id"},
		{"trace id in both", record(func(lr plog.LogRecord) {
			lr.SetTraceID(traceID)
			lr.Attributes().PutStr("trace_id", hex.EncodeToString(traceID[:]))
		}), ""},
		{"severity without level attribute", record(func(lr plog.LogRecord) { lr.SetSeverityText("WARN") }), `no "level" attribute`},
		{"valid resource", resource(valid), ""},
		{"no service.name", resource(map[string]any{"service.instance.id": "i-1"}), "no service.name"},
		{"upper-case service.name", resource(map[string]any{"service.name": "Svc", "service.instance.id": "i-1"}), "not lower-case"},
		{"no instance", resource(map[string]any{"service.name": "svc"}), "no service.instance.id"},
		{"repeated attribute key", repeatedKeyViolations(t), `key "a" repeated`},
		{"valid histogram", histogram(func(pmetric.Metric) {}), ""},
		{"histogram in seconds", histogram(func(m pmetric.Metric) { m.SetUnit("s") }), `unit "s", not ms`},
		{"delta histogram", histogram(func(m pmetric.Metric) {
			m.Histogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		}), "not cumulative"},
		{"other bounds", histogram(func(m pmetric.Metric) { m.Histogram().DataPoints().At(0).ExplicitBounds().FromRaw([]float64{1}) }), "bounds [1]"},
		{"missing label", histogram(func(m pmetric.Metric) { m.Histogram().DataPoints().At(0).Attributes().Clear() }), `without label "model_name"`},
		{"delta sum", deltaSumViolations(), "Delta temporality"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				assert.Empty(t, tc.got)
				return
			}
			require.Len(t, tc.got, 1, "%q", tc.got)
			assert.Contains(t, tc.got[0], tc.want)
		})
	}
}

// repeatedKeyViolations decodes a record with a repeated attribute key, as
// it can arrive on the wire (pdata's Put* cannot make one).
func repeatedKeyViolations(t *testing.T) []string {
	req := plogotlp.NewExportRequest()
	require.NoError(t, req.UnmarshalJSON([]byte(`{"resourceLogs":[{"resource":{"attributes":[
		{"key":"service.name","value":{"stringValue":"svc"}},{"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
		"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","body":{"stringValue":"line"},"attributes":[
		{"key":"a","value":{"stringValue":"1"}},{"key":"a","value":{"stringValue":"2"}}]}]}]}]}`)))
	var v []string
	for _, rl := range req.Logs().ResourceLogs().All() {
		v = append(v, resourceViolations("logs", rl.Resource())...)
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				v = append(v, recordViolations(lr, swAttrs{traceID: "trace_id", level: "level"})...)
			}
		}
	}
	return v
}

func deltaSumViolations() []string {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(map[string]any{"service.name": "svc", "service.instance.id": "i-1"})
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("faas.invocations")
	m.SetEmptySum().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	return metricViolations(md)
}
