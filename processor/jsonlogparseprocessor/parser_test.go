package jsonlogparseprocessor

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func counter(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_processor_jsonlogparse_" + name)
	if err != nil {
		return 0 // never incremented
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok)
	var total int64
	for _, dp := range sum.DataPoints {
		total += dp.Value
	}
	return total
}

// TestTelemetry checks the internal counters against the broken corpus,
// whose lines are described in testdata/corpus/broken.txt's golden file.
func TestTelemetry(t *testing.T) {
	ld := corpusLogs(t, filepath.Join("testdata", "corpus", "broken.txt"))
	cfg := defaultConfig()
	cfg.Limits.MaxAttributes = 2
	_, tel := runProcessor(t, cfg, ld)
	want := map[string]int64{
		// truncated, "{"a":1} trailing", control char, NaN
		"records_malformed": 4,
		// [1,2,3], plain text, empty line
		"records_not_json": 3,
		"records_parsed":   11,
		// "not-a-trace", the zero id, then span "xyz" and flags "zz"
		"invalid_ids":        4,
		"invalid_timestamps": 1,
		// numbers line: 7 fields, 2 kept (5); escapes line: 3 fields, 2 kept (1);
		// duplicate x then its nested y (1); deep nesting: d1, d2 kept, d3 (1)
		"attributes_dropped": 8,
	}
	for name, n := range want {
		assert.Equal(t, n, counter(t, tel, name), name)
	}
}

func parseOne(t *testing.T, cfg *Config, setup func(plog.LogRecord)) (plog.LogRecord, outcome, counts) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p := newParser(cfg)
	st := p.getState()
	defer p.putState(st)
	st.c = counts{}
	lr := plog.NewLogRecord()
	setup(lr)
	return lr, st.parseRecord(lr), st.c
}

func TestParseRecord(t *testing.T) {
	big := strings.Repeat("x", 256<<10)
	deep := func(n int) string { return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1) }
	tests := []struct {
		name  string
		cfg   func(*Config)
		setup func(plog.LogRecord)
		want  outcome
		check func(*testing.T, plog.LogRecord, counts)
	}{
		{
			name: "256 KB message is the body, a 256 KB field is truncated",
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"message":"` + big + `","detail":"` + big + `"}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, c counts) {
				assert.Equal(t, big, lr.Body().Str())
				v, _ := lr.Attributes().Get("detail")
				assert.Len(t, v.Str(), 16384)
				assert.Equal(t, int64(1), c.truncated)
			},
		},
		{
			name: "truncation keeps UTF-8 valid",
			cfg:  func(c *Config) { c.Limits.MaxValueBytes = 4 },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"k":"aaé"}`) // é is 2 bytes at offsets 2..3, a cut at 4 keeps it
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				v, _ := lr.Attributes().Get("k")
				assert.Equal(t, "aaé", v.Str())
			},
		},
		{
			name: "truncation backs off to a rune start",
			cfg:  func(c *Config) { c.Limits.MaxValueBytes = 3 },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"k":"aaé"}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				v, _ := lr.Attributes().Get("k")
				assert.Equal(t, "aa", v.Str())
			},
		},
		{
			name:  "nesting at encoding/json's limit parses",
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(deep(10000)) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				// limits::max_depth (10) keeps the rest as JSON text.
				v, ok := lr.Attributes().Get("a")
				require.True(t, ok)
				assert.Equal(t, pcommon.ValueTypeMap, v.Type())
			},
		},
		{
			name:  "nesting beyond encoding/json's limit is malformed",
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(deep(10001)) },
			want:  malformed,
		},
		{
			name:  "a CLEF line without @l is Information",
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"@t":"2026-11-25T10:00:00Z","@m":"shipped"}`) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
				assert.Equal(t, "Information", lr.SeverityText())
				assert.Zero(t, lr.Attributes().Len(), "the marker is the timestamp, not an attribute")
			},
		},
		{
			name:  "an explicit level beats the implied one",
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"@t":"2026-11-25T10:00:00Z","@l":"Error","@m":"failed"}`) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
			},
		},
		{
			name: "an upstream level beats the implied one",
			setup: func(lr plog.LogRecord) {
				lr.SetSeverityNumber(plog.SeverityNumberWarn)
				lr.Body().SetStr(`{"@t":"2026-11-25T10:00:00Z","@m":"slow"}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
				assert.Empty(t, lr.SeverityText())
			},
		},
		{
			name:  "without the marker no level is implied",
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"time":"2026-11-25T10:00:00Z","msg":"plain"}`) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
				assert.Empty(t, lr.SeverityText())
			},
		},
		{
			name:  "a configured marker that is kept as an attribute",
			cfg:   func(c *Config) { c.Severity.Implied = []ImpliedLevel{{Field: "alarm", Level: "warn"}} },
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"alarm":true,"msg":"disk"}`) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
				assert.Equal(t, "warn", lr.SeverityText())
				v, ok := lr.Attributes().Get("alarm")
				assert.True(t, ok && v.Bool())
			},
		},
		{
			name:  "timestamp_zone places zone-less times",
			cfg:   func(c *Config) { c.TimestampZone = "America/New_York" },
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"asctime":"2026-11-25 05:00:00,250","message":"m"}`) },
			want:  parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, pcommon.Timestamp(1795600800_250000000), lr.Timestamp()) // 10:00:00.25Z
			},
		},
		{
			name: "source attribute is parsed and removed, the body kept",
			cfg:  func(c *Config) { c.SourceAttribute = "log.line" },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr("original")
				lr.Attributes().PutStr("log.line", `{"level":"warn","user":"u1"}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, "original", lr.Body().Str())
				assert.Equal(t, map[string]any{"user": "u1"}, lr.Attributes().AsRaw())
				assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
			},
		},
		{
			name:  "missing source attribute is not JSON",
			cfg:   func(c *Config) { c.SourceAttribute = "log.line" },
			setup: func(lr plog.LogRecord) { lr.Body().SetStr(`{"a":1}`) },
			want:  notJSON,
		},
		{
			name:  "map body is not parsed",
			setup: func(lr plog.LogRecord) { lr.Body().SetEmptyMap().PutStr("message", "x") },
			want:  notJSON,
		},
		{
			name: "fields upsert existing attributes and keep the others",
			setup: func(lr plog.LogRecord) {
				lr.Attributes().PutStr("faas.invocation_id", "r-1")
				lr.Attributes().PutStr("user", "old")
				lr.Body().SetStr(`{"msg":"m","user":"new"}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, map[string]any{"faas.invocation_id": "r-1", "user": "new"}, lr.Attributes().AsRaw())
			},
		},
		{
			name: "max_attributes counts nested pairs and sets dropped_attributes_count",
			cfg:  func(c *Config) { c.Limits.MaxAttributes = 3 },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"a":1,"b":{"c":2,"d":3},"e":4}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, c counts) {
				assert.Equal(t, map[string]any{"a": int64(1), "b": map[string]any{"c": int64(2)}}, lr.Attributes().AsRaw())
				assert.Equal(t, uint32(2), lr.DroppedAttributesCount())
				assert.Equal(t, int64(2), c.attrsDropped)
			},
		},
		{
			name: "skywalking: scalar attributes, string body, level and trace id attributes",
			cfg:  func(c *Config) { c.SkyWalking.Enabled = true },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"level":30,"msg":{"k":"v"},"traceId":"0AF7651916CD43DD8448EB211C80319C","req":{"tags":["a","b"],"n":null}}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, `{"k":"v"}`, lr.Body().Str())
				assert.Equal(t, map[string]any{
					"level":    "INFO",
					"trace_id": "0af7651916cd43dd8448eb211c80319c",
					"req.tags": `["a","b"]`,
					"req.n":    nil,
				}, lr.Attributes().AsRaw())
			},
		},
		{
			// The README's loguru example: every role lies inside "record".
			name: "loguru serialize through dotted names",
			cfg: func(c *Config) {
				c.BodyFields = []string{"record.message"}
				c.Severity.Fields = []string{"record.level.name"}
				c.TimestampFields = []string{"record.time.timestamp"}
				c.TraceContext = []TraceCandidate{{TraceID: "record.extra.trace_id", SpanID: "record.extra.span_id"}}
			},
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"text":"2026-11-25 10:00:00.123 | INFO     | app:handler:12 - charged\n","record":{"extra":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","order":"o-1"},"function":"handler","level":{"icon":"i","name":"INFO","no":20},"line":12,"message":"charged","time":{"repr":"2026-11-25 10:00:00.123000+00:00","timestamp":1795600800.123}}}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, "charged", lr.Body().Str())
				assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
				// float64 seconds hold this time to about 240 ns.
				assert.InDelta(t, 1795600800_123000000, float64(lr.Timestamp()), 1000)
				assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
				assert.Equal(t, "00f067aa0ba902b7", lr.SpanID().String())
				rec, _ := lr.Attributes().Get("record")
				assert.Equal(t, map[string]any{
					"extra":    map[string]any{"order": "o-1"},
					"function": "handler",
					"level":    map[string]any{"icon": "i", "no": int64(20)},
					"line":     int64(12),
					"time":     map[string]any{"repr": "2026-11-25 10:00:00.123000+00:00"},
				}, rec.Map().AsRaw())
			},
		},
		{
			name: "flatten with a custom separator keeps arrays",
			cfg:  func(c *Config) { c.Flatten = FlattenConfig{Enabled: true, Separator: "/"} },
			setup: func(lr plog.LogRecord) {
				lr.Body().SetStr(`{"a":{"b":{"c":1},"d":[1,{"e":2}]},"f":{}}`)
			},
			want: parsed,
			check: func(t *testing.T, lr plog.LogRecord, _ counts) {
				assert.Equal(t, map[string]any{
					"a/b/c": int64(1),
					"a/d":   []any{int64(1), map[string]any{"e": int64(2)}},
					"f":     map[string]any{},
				}, lr.Attributes().AsRaw())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			lr, got, c := parseOne(t, cfg, tt.setup)
			require.Equal(t, tt.want, got)
			if tt.check != nil {
				tt.check(t, lr, c)
			}
		})
	}
}

func TestParseTraceValue(t *testing.T) {
	const tid, sid = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	tests := []struct {
		in        string
		ok        bool
		trace     string
		span      string
		flags     uint32
		withFlags bool
	}{
		{in: tid, ok: true, trace: tid},
		{in: strings.ToUpper(tid), ok: true, trace: tid},
		{in: "1-0af76519-16cd43dd8448eb211c80319c", ok: true, trace: tid},
		{in: "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=" + sid + ";Sampled=1", ok: true, trace: tid, span: sid, flags: 1, withFlags: true},
		{in: "Root=1-0af76519-16cd43dd8448eb211c80319c", ok: true, trace: tid},
		{in: "00-" + tid + "-" + sid + "-01", ok: true, trace: tid, span: sid, flags: 1, withFlags: true},
		{in: "ff-" + tid + "-" + sid + "-01"},
		{in: "00-" + tid + "-0000000000000000-01"},
		{in: strings.Repeat("0", 32)},
		{in: "projects/my-project/traces/" + tid, ok: true, trace: tid},
		{in: "projects/example.com:p/traces/" + strings.ToUpper(tid), ok: true, trace: tid},
		{in: "projects//traces/" + tid},
		{in: "projects/a/b/traces/" + tid},
		{in: "projects/p/traces/" + tid[:31]},
		{in: "projects/p/spans/" + tid},
		{in: "Parent=" + sid},
		{in: "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=xyz"},
		{in: tid[:31] + "g"},
		{in: tid + "0"},
		{in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tv, ok := parseTraceValue(tt.in)
			require.Equal(t, tt.ok, ok)
			if !ok {
				return
			}
			assert.Equal(t, tt.trace, tv.traceID.String())
			assert.Equal(t, tt.span != "", tv.hasSpan)
			if tt.span != "" {
				assert.Equal(t, tt.span, tv.spanID.String())
			}
			assert.Equal(t, tt.withFlags, tv.hasFlags)
			assert.Equal(t, tt.flags, tv.flags)
		})
	}
}

func TestSeverityNumberSchemes(t *testing.T) {
	for _, tt := range []struct {
		scheme string
		v      int64
		want   plog.SeverityNumber
		name   string
	}{
		{schemePino, 10, plog.SeverityNumberTrace, "TRACE"}, {schemePino, 30, plog.SeverityNumberInfo, "INFO"},
		{schemePino, 60, plog.SeverityNumberFatal, "FATAL"}, {schemePino, 35, plog.SeverityNumberWarn, "WARN"},
		{schemePython, 10, plog.SeverityNumberDebug, "DEBUG"}, {schemePython, 50, plog.SeverityNumberFatal, "FATAL"},
		{schemeSyslog, 3, plog.SeverityNumberError, "ERROR"}, {schemeSyslog, 0, plog.SeverityNumberFatal4, "FATAL"},
		{schemeOTel, 13, plog.SeverityNumberWarn, "WARN"},
	} {
		got, ok := severityFromNumber(tt.scheme, tt.v)
		assert.True(t, ok)
		assert.Equal(t, tt.want, got, "%s %d", tt.scheme, tt.v)
		assert.Equal(t, tt.name, severityName(got))
	}
	for _, bad := range []struct {
		scheme string
		v      int64
	}{{schemePino, 0}, {schemeSyslog, 8}, {schemeOTel, 25}, {schemePython, -1}} {
		_, ok := severityFromNumber(bad.scheme, bad.v)
		assert.False(t, ok, "%s %d", bad.scheme, bad.v)
	}
}

func TestParseRuntimePrefix(t *testing.T) {
	const req = "79b4f56e-95b1-4643-9700-2807f4e68189"
	const at = pcommon.Timestamp(1795600800_123000000) // 2026-11-25T10:00:00.123Z
	tests := []struct {
		in   string
		ok   bool
		want runtimePrefix
	}{
		{in: "[INFO]\t2026-11-25T10:00:00.123Z\t" + req + "\t{\"a\":1}", ok: true,
			want: runtimePrefix{level: "INFO", time: at, requestID: req, jsonStart: 69}},
		{in: "2026-11-25T10:00:00.123Z\t" + req + "\tWARN\t {\"a\":1}", ok: true,
			want: runtimePrefix{level: "WARN", time: at, requestID: req, jsonStart: 68}},
		{in: "[INFO]\t2026-11-25T10:00:00.123Z\t" + req + "\tplain text"},
		{in: "[INFO]\tnot-a-time\t" + req + "\t{\"a\":1}"},
		{in: "2026-11-25T10:00:00.123Z\t" + req + "\tInvoke Error\t{\"a\":1}"},
		{in: "{\"a\":1}"},
	}
	for _, tt := range tests {
		got, ok := parseRuntimePrefix(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		if ok {
			assert.Equal(t, tt.want, got)
			assert.Equal(t, byte('{'), tt.in[got.jsonStart])
		}
	}
}
