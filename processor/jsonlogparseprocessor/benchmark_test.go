package jsonlogparseprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"
	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"
)

// transformStatements do this processor's job, with its default config, in
// OTTL, as a user would write them for these loggers (TestTransformDoesTheSameJob
// checks they match): parse the body, or the JSON after a Lambda runtime's
// text prefix; take body, severity, time and trace context from the first
// usable field of each role; keep the rest as attributes. Each role's
// candidates are listed last-first, so the first usable one is marked last,
// and its field is then read and deleted through a dynamic key.
// {J} is the parsed object, {C} the cache.
var transformStatements = func() []string {
	const (
		timeText = `\\d{4}-\\d\\d-\\d\\d[Tt ]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?(?:[Zz]| ?UTC|[+-]\\d\\d:?\\d\\d)?`
		// 32 hex, X-Ray id, W3C traceparent, X-Ray header (Root first, as
		// AWS writes it), Google Cloud trace name.
		traceForms = `^(?:[0-9a-fA-F]{32}|1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}|[0-9a-fA-F]{2}-[0-9a-fA-F]{32}-[0-9a-fA-F]{16}-[0-9a-fA-F]{2}|Root=1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}(?:;Parent=[0-9a-fA-F]{16})?(?:;Sampled=[^;]*)?(?:;[^;=]+=[^;]*)*|projects/[^/]+/traces/[0-9a-fA-F]{32})$`
		// The same forms with a zero id or a forbidden traceparent version.
		invalidTrace = `^(?:0{32}|1-0{8}-0{24}|[fF]{2}-.*|..-0{32}-.*|..-.{32}-0{16}-..|Root=1-0{8}-0{24}.*|projects/.*/0{32})$`
		// A decimal Datadog id that OTTL's Int reads: non-zero and below
		// 9e18, as every tracer but Python's and PHP's (up to 2^64-1)
		// generates; jsonlogparse reads all 64 bits.
		ddDecimal = `^(?:[1-9][0-9]{0,17}|[1-8][0-9]{18})$`
		// Level words of Python, pino, zap, slog, logrus, Serilog, log4j and
		// syslog, keyed by severity number.
		levelWords = `{"1": [{"equals": ["trace", "verbose", "vrb"]}], "5": [{"equals": ["debug", "dbg"]}], ` +
			`"9": [{"equals": ["info", "information", "informational", "inf"]}], "10": [{"equals": ["notice"]}], ` +
			`"13": [{"equals": ["warn", "warning", "wrn"]}], "17": [{"equals": ["error", "err", "eror"]}], "18": [{"equals": ["dpanic"]}], ` +
			`"21": [{"equals": ["fatal", "critical", "ftl"]}], "22": [{"equals": ["panic", "crit"]}], "23": [{"equals": ["alert"]}], ` +
			`"24": [{"equals": ["emerg", "emergency"]}]}`
		levelWord = `(?i)^(?:trace|verbose|vrb|debug|dbg|info|information|informational|inf|notice|warn|warning|wrn|error|err|eror|dpanic|fatal|critical|ftl|panic|crit|alert|emerg|emergency)$`
		// pino's numbers (10 trace ... 60 fatal) by range.
		pinoLevels = `{"TRACE": [{"range": {"min": 1, "max": 10}}], "DEBUG": [{"range": {"min": 11, "max": 20}}], ` +
			`"INFO": [{"range": {"min": 21, "max": 30}}], "WARN": [{"range": {"min": 31, "max": 40}}], ` +
			`"ERROR": [{"range": {"min": 41, "max": 50}}], "FATAL": [{"range": {"min": 51, "max": 9223372036854775807}}]}`
	)
	// Conditions test values before types: OTTL's Is* checks build an error
	// for every value of another type, while a comparison across types is
	// just false.
	level := func(v string) string {
		return v + ` != nil and (IsString(` + v + `) or (` + v + ` >= 1 and ` + v + ` == Int(` + v + `)))`
	}
	when := func(v string) string {
		return `(` + v + ` > 0 or IsMatch(` + v + `, "^` + timeText + `$"))`
	}
	trace := func(v string) string {
		return `IsMatch(` + v + `, "` + traceForms + `") and not IsMatch(` + v + `, "` + invalidTrace + `")`
	}
	s := []string{
		// Parse the body, or the JSON after a Python or Node.js runtime prefix.
		`set({J}, ParseJSON(log.body)) where IsString(log.body) and IsMatch(log.body, "^[ \\t\\r\\n]*\\{")`,
		`set({C}["prefix"], ExtractPatterns(log.body, "^\\[(?P<level>[A-Za-z]+)\\]\\t(?P<time>` + timeText + `)\\t(?P<id>[^\\t \\n]+)\\t[ \\t]*(?P<json>\\{(?s:.*))$")) where {J} == nil and IsString(log.body)`,
		`set({C}["prefix"], ExtractPatterns(log.body, "^(?P<time>` + timeText + `)\\t(?P<id>[^\\t \\n]+)\\t(?P<level>[A-Za-z]+)\\t[ \\t]*(?P<json>\\{(?s:.*))$")) where {C}["prefix"] != nil and {C}["prefix"]["json"] == nil`,
		`set({J}, ParseJSON({C}["prefix"]["json"])) where {C}["prefix"]["json"] != nil`,
		`set(log.attributes["faas.invocation_id"], {C}["prefix"]["id"]) where {C}["prefix"]["id"] != nil and {J} != nil`,
	}
	// Body: message, msg, @m, @mt, event.
	for _, f := range []string{"event", "@mt", "@m", "msg", "message"} {
		s = append(s, `set({C}["body"], "`+f+`") where {J}["`+f+`"] != nil`)
	}
	s = append(s,
		`set(log.body, {J}[{C}["body"]]) where {C}["body"] != nil`,
		`delete_key({J}, {C}["body"]) where {C}["body"] != nil`,
	)
	// Request id: requestId, function_request_id to faas.invocation_id.
	for _, f := range []string{"function_request_id", "requestId"} {
		s = append(s, `set({C}["idkey"], "`+f+`") where {J}["`+f+`"] != nil and IsString({J}["`+f+`"])`)
	}
	s = append(s,
		`set(log.attributes["faas.invocation_id"], {J}[{C}["idkey"]]) where {C}["idkey"] != nil`,
		`delete_key({J}, {C}["idkey"]) where {C}["idkey"] != nil`,
	)
	// Severity: level, levelname, severity, log.level (also nested), @l as
	// text or a pino number; else the prefix's level; else the implied one.
	s = append(s, `set({C}["sevkey"], "@l") where `+level(`{J}["@l"]`))
	s = append(s, `set({C}["sevkey"], "log{level}") where {J}["log"] != nil and IsMap({J}["log"]) and `+level(`{J}["log"]["level"]`))
	for _, f := range []string{"log.level", "severity", "levelname", "level"} {
		s = append(s, `set({C}["sevkey"], "`+f+`") where `+level(`{J}["`+f+`"]`))
	}
	s = append(s,
		`set({C}["sev"], {J}[{C}["sevkey"]]) where {C}["sevkey"] != nil`,
		`delete_key({J}, {C}["sevkey"]) where {C}["sevkey"] != nil`,
		`set({C}["sev"], {J}["log"]["level"]) where {C}["sevkey"] == "log{level}"`,
		`delete_key({J}["log"], "level") where {C}["sevkey"] == "log{level}"`,
		`delete_key({J}, "log") where {C}["sevkey"] == "log{level}" and Len({J}["log"]) == 0`,
		`set({C}["sev"], {C}["prefix"]["level"]) where {C}["prefix"]["level"] != nil and {C}["sev"] == nil and {J} != nil`,
		// Serilog's compact format (CLEF, marked by @t) omits @l for Information.
		`set({C}["sev"], "Information") where {J}["@t"] != nil and {C}["sev"] == nil and log.severity_number == SEVERITY_NUMBER_UNSPECIFIED and log.severity_text == ""`,
		`set({C}["sev"], ParseSeverity(Int({C}["sev"]), `+pinoLevels+`)) where {C}["sev"] >= 1`,
		`set(log.severity_text, {C}["sev"]) where {C}["sev"] != nil`,
		`set(log.severity_number, Int(ParseSeverity(ConvertCase({C}["sev"], "lower"), `+levelWords+`))) where IsMatch({C}["sev"], "`+levelWord+`")`,
	)
	// Time: timestamp, time, ts, asctime, @timestamp, @t when readable;
	// else the prefix's time.
	for _, f := range []string{"@t", "@timestamp", "asctime", "ts", "time", "timestamp"} {
		s = append(s, `set({C}["timekey"], "`+f+`") where `+when(`{J}["`+f+`"]`))
	}
	s = append(s,
		`set({C}["time"], {J}[{C}["timekey"]]) where {C}["timekey"] != nil`,
		`delete_key({J}, {C}["timekey"]) where {C}["timekey"] != nil`,
		`set({C}["time"], {C}["prefix"]["time"]) where {C}["prefix"]["time"] != nil and {C}["time"] == nil and {J} != nil`,
		// Text: RFC 3339 or Python asctime, zone-less meaning UTC; made
		// RFC 3339 with Z or an offset, which %z reads (Go reads any
		// fraction after %S).
		`replace_pattern({C}["time"], "^(\\d{4}-\\d\\d-\\d\\d)[Tt ](\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?)(?:z| ?UTC)?$", "${1}T${2}Z")`,
		`replace_pattern({C}["time"], "^(\\d{4}-\\d\\d-\\d\\d)[t ]", "${1}T")`,
		`set(log.time, Time({C}["time"], "%Y-%m-%dT%H:%M:%S%z")) where IsMatch({C}["time"], "^\\d{4}-")`,
		// Epoch numbers: seconds, milli-, micro- or nanoseconds by magnitude;
		// integers exactly, fractions rounded to the nanosecond.
		`set({C}["scale"], 1000000000) where {C}["time"] < 100000000000`,
		`set({C}["scale"], 1000000) where {C}["scale"] == nil and {C}["time"] < 100000000000000`,
		`set({C}["scale"], 1000) where {C}["scale"] == nil and {C}["time"] < 100000000000000000`,
		`set({C}["scale"], 1) where {C}["scale"] == nil and {C}["time"] >= 100000000000000000`,
		`set(log.time, Unix(0, Int({C}["time"]) * {C}["scale"])) where {C}["scale"] != nil and {C}["time"] == Int({C}["time"])`,
		`set(log.time, Unix(0, Int({C}["time"] * Double({C}["scale"]) + 0.5))) where {C}["scale"] != nil and {C}["time"] != Int({C}["time"])`,
	)
	// Trace context: the first candidate whose trace id is valid in any
	// form. {C}["trace"] describes it: [0..2] its trace, span and flags
	// keys; [3..6] for nested objects (ECS's {"trace":{"id"}}, dd-trace-js's
	// {"dd":{"trace_id"}}) the parent and child keys of trace and span;
	// [7] "dd" for Datadog's ids. OTTL cannot match keys in any case, so
	// the .NET spelling (TraceId) is a candidate of its own.
	for _, c := range [][8]string{
		{"xray_trace_id", "", "", "", "", "", "", ""},
		{"", "", "", "dd", "trace_id", "dd", "span_id", "dd"},
		{"dd.trace_id", "dd.span_id", "", "", "", "", "", "dd"},
		{"logging.googleapis.com/trace", "logging.googleapis.com/spanId", "logging.googleapis.com/trace_sampled", "", "", "", "", ""},
		{"traceparent", "", "", "", "", "", "", ""},
		{"@tr", "@sp", "", "", "", "", "", ""},
		{"", "", "", "trace", "id", "span", "id", ""},
		{"trace.id", "span.id", "", "", "", "", "", ""},
		{"otelTraceID", "otelSpanID", "otelTraceSampled", "", "", "", "", ""},
		{"TraceId", "SpanId", "TraceFlags", "", "", "", "", ""},
		{"traceId", "spanId", "traceFlags", "", "", "", "", ""},
		{"trace_id", "span_id", "trace_flags", "", "", "", "", ""},
	} {
		v := `{J}["` + c[0] + `"]`
		if c[3] != "" {
			v = `{J}["` + c[3] + `"]["` + c[4] + `"]`
		}
		valid := trace(v)
		if c[7] == "dd" {
			// 32 hex, or the decimal low half of the record's own trace id.
			valid = `(IsMatch(` + v + `, "^[0-9a-fA-F]{32}$") and not IsMatch(` + v + `, "^0+$")) or ` +
				`(IsMatch(` + v + `, "` + ddDecimal + `") and Hex(Int(` + v + `)) == Substring(log.trace_id.string, 16, 16))`
		}
		s = append(s, `set({C}["trace"], ["`+strings.Join(c[:], `", "`)+`"]) where `+valid)
	}
	s = append(s,
		`set({C}["tv"], {J}[{C}["trace"][0]]) where {C}["trace"] != nil and {C}["trace"][3] == ""`,
		`delete_key({J}, {C}["trace"][0]) where {C}["trace"] != nil and {C}["trace"][3] == ""`,
		`set({C}["tv"], {J}[{C}["trace"][3]][{C}["trace"][4]]) where {C}["trace"] != nil and {C}["trace"][3] != ""`,
		`delete_key({J}[{C}["trace"][3]], {C}["trace"][4]) where {C}["trace"] != nil and {C}["trace"][3] != ""`,
		`delete_key({J}, {C}["trace"][3]) where {C}["trace"] != nil and {C}["trace"][3] != "" and Len({J}[{C}["trace"][3]]) == 0`,
		// A decimal Datadog trace id has been checked to be the record's.
		`set({C}["tv"], log.trace_id.string) where {C}["trace"][7] == "dd" and IsMatch({C}["tv"], "`+ddDecimal+`")`,
		// W3C traceparent: version-trace-span-flags.
		`set({C}["span"], Substring({C}["tv"], 36, 16)) where IsMatch({C}["tv"], "^[0-9a-fA-F]{2}-")`,
		`set({C}["flags"], ParseInt(Substring({C}["tv"], 53, 2), 16)) where IsMatch({C}["tv"], "^[0-9a-fA-F]{2}-")`,
		`set({C}["tv"], Substring({C}["tv"], 3, 32)) where IsMatch({C}["tv"], "^[0-9a-fA-F]{2}-")`,
		// X-Ray header Root=...;Parent=...;Sampled=..., then the X-Ray id
		// 1-<8 hex>-<24 hex> without version and dashes.
		`set({C}["xray"], ParseKeyValue({C}["tv"], "=", ";")) where IsMatch({C}["tv"], "^Root=")`,
		`set({C}["span"], {C}["xray"]["Parent"]) where {C}["xray"]["Parent"] != nil and not IsMatch({C}["xray"]["Parent"], "^0+$")`,
		`set({C}["flags"], Int({C}["xray"]["Sampled"])) where {C}["xray"]["Sampled"] == "1" or {C}["xray"]["Sampled"] == "0"`,
		`set({C}["tv"], {C}["xray"]["Root"]) where {C}["xray"] != nil`,
		`set({C}["tv"], Concat([Substring({C}["tv"], 2, 8), Substring({C}["tv"], 11, 24)], "")) where IsMatch({C}["tv"], "^1-")`,
		// Google Cloud's trace name projects/<project>/traces/<32 hex>.
		`replace_pattern({C}["tv"], "^projects/[^/]+/traces/", "")`,
		// A span id and flags belong to their trace: another trace than the
		// record's (the invocation's) drops them unless the line has its own.
		`set({C}["othertrace"], true) where {C}["tv"] != nil and log.trace_id.string != ConvertCase({C}["tv"], "lower")`,
		`set(log.span_id, SpanID(0x0000000000000000)) where {C}["othertrace"] == true`,
		`set(log.flags, 0) where {C}["othertrace"] == true`,
		`set(log.trace_id.string, {C}["tv"]) where {C}["tv"] != nil`,
		// Span id and flags fields, unless the trace value carried them;
		// invalid values stay attributes. Datadog's span ids are decimal.
		`set({C}["spanv"], {J}[{C}["trace"][1]]) where {C}["trace"] != nil and {C}["span"] == nil and {C}["trace"][5] == ""`,
		`set({C}["spanv"], {J}[{C}["trace"][5]][{C}["trace"][6]]) where {C}["trace"] != nil and {C}["span"] == nil and {C}["trace"][5] != "" and IsMap({J}[{C}["trace"][5]])`,
		`set({C}["span"], {C}["spanv"]) where {C}["trace"][7] == "" and IsMatch({C}["spanv"], "^[0-9a-fA-F]{16}$") and not IsMatch({C}["spanv"], "^0+$")`,
		`set({C}["span"], Hex(Int({C}["spanv"]))) where {C}["trace"][7] == "dd" and IsMatch({C}["spanv"], "`+ddDecimal+`")`,
		`delete_key({J}, {C}["trace"][1]) where {C}["spanv"] != nil and {C}["span"] != nil and {C}["trace"][5] == ""`,
		`delete_key({J}[{C}["trace"][5]], {C}["trace"][6]) where {C}["spanv"] != nil and {C}["span"] != nil and {C}["trace"][5] != ""`,
		`delete_key({J}, {C}["trace"][5]) where {C}["spanv"] != nil and {C}["span"] != nil and {C}["trace"][5] != "" and Len({J}[{C}["trace"][5]]) == 0`,
		`set(log.span_id.string, {C}["span"]) where {C}["span"] != nil`,
		`set({C}["flagsv"], {J}[{C}["trace"][2]]) where {C}["trace"] != nil and {C}["flags"] == nil`,
		`set({C}["flags"], ParseInt({C}["flagsv"], 16)) where {C}["flagsv"] != nil and IsString({C}["flagsv"]) and IsMatch({C}["flagsv"], "^[0-9a-fA-F]{1,2}$")`,
		`set({C}["flags"], Int({C}["flagsv"])) where {C}["flagsv"] >= 0 and {C}["flagsv"] <= 255 and {C}["flagsv"] == Int({C}["flagsv"])`,
		`set({C}["flags"], 1) where {C}["flagsv"] == true or ({C}["flagsv"] != nil and IsString({C}["flagsv"]) and IsMatch({C}["flagsv"], "(?i)^recorded$"))`,
		`set({C}["flags"], 0) where {C}["flagsv"] == false or ({C}["flagsv"] != nil and IsString({C}["flagsv"]) and IsMatch({C}["flagsv"], "(?i)^none$"))`,
		`delete_key({J}, {C}["trace"][2]) where {C}["flagsv"] != nil and {C}["flags"] != nil`,
		`set(log.flags, {C}["flags"]) where {C}["flags"] != nil`,
		// Everything not taken becomes an attribute, strings cut to 16 KiB
		// at a UTF-8 boundary.
		`merge_maps(log.attributes, {J}, "upsert") where {J} != nil`,
		`truncate_all(log.attributes, 16384) where {J} != nil`,
	)
	r := strings.NewReplacer(`{J}`, `log.cache["json"]`, `{C}`, `log.cache`)
	for i := range s {
		s[i] = r.Replace(s[i])
	}
	return s
}()

// benchCorpus is every well-formed corpus line no longer than maxLen bytes
// (0: all; the broken lines are left to the correctness tests), each record
// with the invocation's trace context as the receiver sets it.
func benchCorpus(b testing.TB, maxLen int) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, l := range benchCorpusLines(b) {
		if maxLen == 0 || len(l.text) <= maxLen {
			lr := sl.LogRecords().AppendEmpty()
			setInvocationContext(lr)
			lr.Body().SetStr(l.text)
		}
	}
	return ld
}

// corpusLine is one benchmark corpus line and its name, "file:line".
type corpusLine struct{ name, text string }

func benchCorpusLines(b testing.TB) []corpusLine {
	paths, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	require.NoError(b, err)
	var lines []corpusLine
	for _, path := range paths {
		if filepath.Base(path) == "broken.txt" {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(b, err)
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			lines = append(lines, corpusLine{fmt.Sprintf("%s:%d", filepath.Base(path), i+1), line})
		}
	}
	return lines
}

// transformParseOnly is the least any OTTL config for this job runs: parse
// the JSON body and merge it into the attributes, nothing else. It is a floor
// for transform, not the same job.
var transformParseOnly = []string{
	`merge_maps(log.attributes, ParseJSON(log.body), "upsert") where IsString(log.body) and IsMatch(log.body, "^[ \\t\\r\\n]*\\{")`,
}

func newTransform(b testing.TB, next *consumertest.LogsSink) processor.Logs {
	return newTransformWith(b, "ignore", transformStatements, next)
}

func newTransformWith(b testing.TB, errorMode string, statements []string, next *consumertest.LogsSink) processor.Logs {
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(map[string]any{
		"error_mode":     errorMode,
		"log_statements": []any{map[string]any{"context": "log", "statements": statements}},
	}).Unmarshal(cfg))
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(b, err)
	return p
}

func newJSONLogParse(b testing.TB, next *consumertest.LogsSink) processor.Logs {
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), defaultConfig(), next)
	require.NoError(b, err)
	return p
}

// BenchmarkCompare runs, on the same corpus and in one go test run, this
// processor, contrib's transformprocessor doing the same job in OTTL, and the
// floors: cloning the batch (every processor variant pays it, since
// processors mutate), a parse-only pass of the scanner and transform running
// only ParseJSON and merge_maps.
func BenchmarkCompare(b *testing.B) {
	ld := benchCorpus(b, 0)
	records := ld.LogRecordCount()
	lines := make([]string, 0, records)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		lines = append(lines, lrs.At(i).Body().Str())
	}
	clone := func() plog.Logs {
		c := plog.NewLogs()
		ld.CopyTo(c)
		return c
	}
	run := func(b *testing.B, newProc func(testing.TB, *consumertest.LogsSink) processor.Logs) {
		sink := new(consumertest.LogsSink)
		p := newProc(b, sink)
		perRecord(b, records, func() {
			if err := p.ConsumeLogs(context.Background(), clone()); err != nil {
				b.Fatal(err)
			}
			sink.Reset()
		})
	}
	b.Run("floor_clone", func(b *testing.B) { perRecord(b, records, func() { _ = clone() }) })
	b.Run("floor_scan", func(b *testing.B) {
		var sc jsonscan.Scanner
		perRecord(b, records, func() {
			for _, line := range lines {
				if p, ok := parseRuntimePrefix(line); ok {
					_ = sc.Scan(line[p.jsonStart:])
				} else if strings.HasPrefix(line, "{") {
					_ = sc.Scan(line)
				}
			}
		})
	})
	b.Run("jsonlogparse", func(b *testing.B) { run(b, newJSONLogParse) })
	b.Run("transform", func(b *testing.B) { run(b, newTransform) })
	b.Run("transform_parse_only", func(b *testing.B) {
		run(b, func(b testing.TB, next *consumertest.LogsSink) processor.Logs {
			return newTransformWith(b, "ignore", transformParseOnly, next)
		})
	})
	b.Run("interleaved", func(b *testing.B) { interleaved(b, ld) })
	b.Run("interleaved_upto500B", func(b *testing.B) { interleaved(b, benchCorpus(b, 500)) })
}

// interleaved alternates the two processors in blocks of about blockTime.
// On a shared machine separate runs see different noise; alternating exposes
// both to the same noise, so their ratio is the steadier number. Each block
// starts after an untimed collection and is long enough for several of its
// own, so each side pays for the garbage it makes: alternating batch by batch
// charged transform's collections (8x the garbage) to jsonlogparse.
func interleaved(b *testing.B, ld plog.Logs) {
	const blockTime = 100 * time.Millisecond
	records := ld.LogRecordCount()
	jlpSink, trSink := new(consumertest.LogsSink), new(consumertest.LogsSink)
	jlp, tr := newJSONLogParse(b, jlpSink), newTransform(b, trSink)
	var jlpTime, trTime time.Duration
	var jlpRecords, trRecords int
	block := func(p processor.Logs, sink *consumertest.LogsSink) (time.Duration, int) {
		runtime.GC()
		var d time.Duration
		n := 0
		for d < blockTime {
			c := plog.NewLogs()
			ld.CopyTo(c)
			start := time.Now()
			if err := p.ConsumeLogs(context.Background(), c); err != nil {
				b.Fatal(err)
			}
			d += time.Since(start)
			sink.Reset()
			n += records
		}
		return d, n
	}
	for b.Loop() {
		d, n := block(jlp, jlpSink)
		jlpTime, jlpRecords = jlpTime+d, jlpRecords+n
		d, n = block(tr, trSink)
		trTime, trRecords = trTime+d, trRecords+n
	}
	jlpNs := float64(jlpTime.Nanoseconds()) / float64(jlpRecords)
	trNs := float64(trTime.Nanoseconds()) / float64(trRecords)
	b.ReportMetric(jlpNs, "jsonlogparse-ns/record")
	b.ReportMetric(trNs, "transform-ns/record")
	b.ReportMetric(trNs/jlpNs, "speedup")
}

// perRecord times fn, which handles one batch of records, and reports the
// cost per record rather than per batch.
func perRecord(b *testing.B, records int, fn func()) {
	var before, after runtime.MemStats
	var cpuBefore, cpuAfter syscall.Rusage
	b.ReportAllocs()
	runtime.GC()
	runtime.ReadMemStats(&before)
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &cpuBefore))
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &cpuAfter))
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	// CPU time of the whole process (GC included) is steadier than wall time
	// on a shared machine.
	cpu := time.Duration(cpuAfter.Utime.Nano() + cpuAfter.Stime.Nano() - cpuBefore.Utime.Nano() - cpuBefore.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
}
