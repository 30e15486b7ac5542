package jsonlogparseprocessor

import (
	"context"
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

// transformStatements do this processor's job for the corpus with OTTL: parse
// the JSON, take trace context (hex and X-Ray forms), severity, time and body
// from the usual fields, and merge the rest into the attributes.
var transformStatements = []string{
	`merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsString(log.body) and IsMatch(log.body, "^\\s*\\{")`,
	`set(log.trace_id.string, log.cache["trace_id"]) where IsString(log.cache["trace_id"])`,
	`set(log.span_id.string, log.cache["span_id"]) where IsString(log.cache["span_id"])`,
	`set(log.trace_id.string, log.cache["traceId"]) where IsString(log.cache["traceId"])`,
	`set(log.span_id.string, log.cache["spanId"]) where IsString(log.cache["spanId"])`,
	`set(log.trace_id.string, Concat([Substring(log.cache["xray_trace_id"], 2, 8), Substring(log.cache["xray_trace_id"], 11, 24)], "")) where IsMatch(log.cache["xray_trace_id"], "^1-[0-9a-f]{8}-[0-9a-f]{24}$")`,
	`set(log.severity_text, log.cache["level"]) where IsString(log.cache["level"])`,
	`set(log.severity_text, log.cache["levelname"]) where IsString(log.cache["levelname"])`,
	`set(log.severity_number, SEVERITY_NUMBER_DEBUG) where IsMatch(log.severity_text, "(?i)^debug$")`,
	`set(log.severity_number, SEVERITY_NUMBER_INFO) where IsMatch(log.severity_text, "(?i)^info(rmation)?$")`,
	`set(log.severity_number, SEVERITY_NUMBER_WARN) where IsMatch(log.severity_text, "(?i)^warn(ing)?$")`,
	`set(log.severity_number, SEVERITY_NUMBER_ERROR) where IsMatch(log.severity_text, "(?i)^error$")`,
	`set(log.severity_number, SEVERITY_NUMBER_INFO) where log.cache["level"] == 30.0`,
	`set(log.severity_number, SEVERITY_NUMBER_ERROR) where log.cache["level"] == 50.0`,
	`set(log.time, Time(log.cache["timestamp"], "%Y-%m-%dT%H:%M:%S.%LZ")) where IsMatch(log.cache["timestamp"], "^\\d{4}-\\d\\d-\\d\\dT.*Z$")`,
	`set(log.time, Time(log.cache["time"], "%Y-%m-%dT%H:%M:%SZ")) where IsMatch(log.cache["time"], "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$")`,
	`set(log.time, Unix(Int(log.cache["time"]) / 1000, (Int(log.cache["time"]) - (Int(log.cache["time"]) / 1000) * 1000) * 1000000)) where IsDouble(log.cache["time"])`,
	`set(log.body, log.cache["message"]) where log.cache["message"] != nil`,
	`set(log.body, log.cache["msg"]) where log.cache["msg"] != nil`,
	`delete_matching_keys(log.cache, "^(message|msg|level|levelname|timestamp|time|trace_id|span_id|traceId|spanId|xray_trace_id)$")`,
	`merge_maps(log.attributes, log.cache, "upsert")`,
}

// benchCorpus is every well-formed corpus line no longer than maxLen bytes
// (0: all; the broken lines are left to the correctness tests): 40 lines of
// 54 B to 1.7 KB, 37 of them at most 500 B.
func benchCorpus(b *testing.B, maxLen int) plog.Logs {
	paths, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	require.NoError(b, err)
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, path := range paths {
		if filepath.Base(path) == "broken.txt" {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(b, err)
		for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
			if maxLen == 0 || len(line) <= maxLen {
				sl.LogRecords().AppendEmpty().Body().SetStr(line)
			}
		}
	}
	return ld
}

func newTransform(b *testing.B, next *consumertest.LogsSink) processor.Logs {
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(map[string]any{
		"error_mode":     "ignore",
		"log_statements": []any{map[string]any{"context": "log", "statements": transformStatements}},
	}).Unmarshal(cfg))
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(b, err)
	return p
}

func newJSONLogParse(b *testing.B, next *consumertest.LogsSink) processor.Logs {
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), defaultConfig(), next)
	require.NoError(b, err)
	return p
}

// BenchmarkCompare runs, on the same corpus and in one go test run, this
// processor, contrib's transformprocessor doing the same job in OTTL, and the
// floors: cloning the batch (every processor variant pays it, since
// processors mutate) and a parse-only pass of the scanner.
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
	run := func(b *testing.B, newProc func(*testing.B, *consumertest.LogsSink) processor.Logs) {
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
	b.Run("interleaved", func(b *testing.B) { interleaved(b, ld) })
	b.Run("interleaved_upto500B", func(b *testing.B) { interleaved(b, benchCorpus(b, 500)) })
}

// interleaved alternates the two processors batch by batch. On a shared
// machine separate runs see different noise; alternating exposes both to the
// same noise, so their ratio is the steadier number (GC work is charged to
// whichever batch it interrupts).
func interleaved(b *testing.B, ld plog.Logs) {
	records := ld.LogRecordCount()
	jlpSink, trSink := new(consumertest.LogsSink), new(consumertest.LogsSink)
	jlp, tr := newJSONLogParse(b, jlpSink), newTransform(b, trSink)
	var jlpTime, trTime time.Duration
	consume := func(p processor.Logs, sink *consumertest.LogsSink) time.Duration {
		c := plog.NewLogs()
		ld.CopyTo(c)
		start := time.Now()
		if err := p.ConsumeLogs(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		sink.Reset()
		return d
	}
	for b.Loop() {
		jlpTime += consume(jlp, jlpSink)
		trTime += consume(tr, trSink)
	}
	n := float64(b.N) * float64(records)
	b.ReportMetric(float64(jlpTime.Nanoseconds())/n, "jsonlogparse-ns/record")
	b.ReportMetric(float64(trTime.Nanoseconds())/n, "transform-ns/record")
	b.ReportMetric(float64(trTime)/float64(jlpTime), "speedup")
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
