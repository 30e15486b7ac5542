package jsonlogparseprocessor

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
)

// transformLimits lists the lines ("file:line") and fields where OTTL cannot
// reproduce this processor's output, each with the limitation and the
// comparison that still holds. Entries whose outputs agree exactly fail the
// test, so the list only holds real gaps.
var transformLimits = map[string]transformLimit{
	"ruleLines:10 Timestamp": {
		reason: "ParseJSON decodes every number into a float64, so an epoch in nanoseconds (above 2^53) loses its last digits before any rule runs",
		equal: func(want, got plog.LogRecord) bool {
			return got.Timestamp() == pcommon.Timestamp(float64(want.Timestamp()))
		},
	},
}

// transformLimit is a known gap: why it exists, and what still holds.
type transformLimit struct {
	reason string
	equal  func(want, got plog.LogRecord) bool
}

// ruleLines reach the rules of transformStatements that the corpus does not,
// so dropping any statement fails the test.
var ruleLines = []string{
	`{"severity":"debug","msg":"severity field, debug word"}`,
	`{"level":20,"msg":"pino debug"}`,
	`{"level":40,"msg":"pino warn"}`,
	`{"level":60,"msg":"pino fatal"}`,
	`{"level":"notice","msg":"syslog notice"}`,
	`{"level":"panic","msg":"zap panic"}`,
	`{"level":"alert","msg":"syslog alert"}`,
	`{"level":"emerg","msg":"syslog emergency"}`,
	`{"ts":1764064800123456,"msg":"epoch microseconds"}`,
	`{"ts":1764064800123456789,"msg":"epoch nanoseconds"}`,
	`{"otelTraceID":"0af7651916cd43dd8448eb211c80319c","otelSpanID":"b7ad6b7169203331","otelTraceSampled":false,"message":"not sampled"}`,
	// An X-Ray header of another trace than the record's (the corpus's
	// headers name the invocation's own).
	`{"message":"xray header, other trace","xray_trace_id":"Root=1-67444570-5f1e2d3c4b5a69788796a5b4;Parent=53995c3f42cd8ad8;Sampled=1"}`,
	// Beyond limits::max_value_bytes (16 KiB), with the cut inside a rune.
	`{"msg":"oversized attribute","blob":"x` + strings.Repeat("é", 9000) + `"}`,
}

// TestTransformDoesTheSameJob keeps BenchmarkCompare honest: on every
// benchmark corpus line (and the ruleLines), contrib's transformprocessor
// running transformStatements must produce the record this processor
// produces, so the benchmark compares the same job.
func TestTransformDoesTheSameJob(t *testing.T) {
	for _, d := range transformDiffs(t) {
		t.Error(d)
	}
}

// TestTransformStatementsNeverFail runs the statements with error_mode
// propagate: under the benchmark's ignore mode a failing statement would
// cost time and silently do nothing.
func TestTransformStatementsNeverFail(t *testing.T) {
	for name, statements := range map[string][]string{"same job": transformStatements, "parse only": transformParseOnly} {
		t.Run(name, func(t *testing.T) {
			ld, _ := equivalenceInput(t)
			p := newTransformWith(t, "propagate", statements, new(consumertest.LogsSink))
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			require.NoError(t, p.Shutdown(context.Background()))
		})
	}
}

// transformDiffs runs both processors as BenchmarkCompare builds them and
// describes every difference not covered by transformLimits, and every
// transformLimits entry that no longer differs.
func transformDiffs(t *testing.T) []string {
	ld, names := equivalenceInput(t)
	lines := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	want := runBenchProcessor(t, newJSONLogParse, ld)
	got := runBenchProcessor(t, newTransform, ld)

	var diffs []string
	used := map[string]bool{}
	for i := range want.Len() {
		w, g := want.At(i), got.At(i)
		for _, f := range recordFields {
			d := f.diff(w, g)
			if d == "" {
				continue
			}
			what := "differs"
			if l, ok := transformLimits[names[i]+" "+f.name]; ok {
				used[names[i]+" "+f.name] = true
				if l.equal(w, g) {
					continue
				}
				what = "differs beyond its known limit (" + l.reason + ")"
			}
			diffs = append(diffs, fmt.Sprintf("%s %s %s:\n  line: %s\n%s", names[i], f.name, what, shorten(lines.At(i).Body().Str()), strings.TrimSuffix(d, "\n")))
		}
	}
	for k := range transformLimits {
		if !used[k] {
			diffs = append(diffs, fmt.Sprintf("transformLimits[%q] is stale: the outputs agree", k))
		}
	}
	return diffs
}

// equivalenceInput is benchCorpus followed by the ruleLines, with the
// name ("file:line") of each record.
func equivalenceInput(t *testing.T) (plog.Logs, []string) {
	ld := benchCorpus(t, 0)
	var names []string
	for _, l := range benchCorpusLines(t) {
		names = append(names, l.name)
	}
	require.Len(t, names, ld.LogRecordCount())
	lines := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, line := range ruleLines {
		lr := lines.AppendEmpty()
		setInvocationContext(lr)
		lr.Body().SetStr(line)
		names = append(names, fmt.Sprintf("ruleLines:%d", i+1))
	}
	return ld, names
}

// shorten quotes a corpus line for the diff, cut to a readable length.
func shorten(line string) string {
	if n := 160; len(line) > n {
		for !utf8.RuneStart(line[n]) {
			n--
		}
		return fmt.Sprintf("%q...", line[:n])
	}
	return fmt.Sprintf("%q", line)
}

func runBenchProcessor(t *testing.T, newProc func(testing.TB, *consumertest.LogsSink) processor.Logs, ld plog.Logs) plog.LogRecordSlice {
	sink := new(consumertest.LogsSink)
	p := newProc(t, sink)
	in := plog.NewLogs()
	ld.CopyTo(in)
	require.NoError(t, p.ConsumeLogs(context.Background(), in))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
}

// recordField is one compared part of a record; diff describes how got
// differs from want, "" when it does not.
type recordField struct {
	name string
	diff func(want, got plog.LogRecord) string
}

func scalarField[T comparable](name string, get func(plog.LogRecord) T, show func(T) string) recordField {
	return recordField{name: name, diff: func(want, got plog.LogRecord) string {
		if get(want) == get(got) {
			return ""
		}
		return sides("  ", show(get(want)), show(get(got)))
	}}
}

var recordFields = []recordField{
	scalarField("TraceID", plog.LogRecord.TraceID, func(id pcommon.TraceID) string { return hex.EncodeToString(id[:]) }),
	scalarField("SpanID", plog.LogRecord.SpanID, func(id pcommon.SpanID) string { return hex.EncodeToString(id[:]) }),
	scalarField("Flags", plog.LogRecord.Flags, func(f plog.LogRecordFlags) string { return fmt.Sprint(uint32(f)) }),
	scalarField("SeverityNumber", plog.LogRecord.SeverityNumber, plog.SeverityNumber.String),
	scalarField("SeverityText", plog.LogRecord.SeverityText, func(s string) string { return fmt.Sprintf("%q", s) }),
	scalarField("Timestamp", plog.LogRecord.Timestamp, func(ts pcommon.Timestamp) string {
		return fmt.Sprintf("%d (%s)", uint64(ts), ts.AsTime().Format(time.RFC3339Nano))
	}),
	{name: "Body", diff: func(want, got plog.LogRecord) string {
		if sameValue(want.Body(), got.Body()) {
			return ""
		}
		return sides("  ", showValue(want.Body()), showValue(got.Body()))
	}},
	{name: "Attributes", diff: func(want, got plog.LogRecord) string {
		var b strings.Builder
		for k, wv := range want.Attributes().All() {
			if gv, ok := got.Attributes().Get(k); !ok {
				fmt.Fprintf(&b, "  %q only from jsonlogparse: %s\n", k, showValue(wv))
			} else if !sameValue(wv, gv) {
				fmt.Fprintf(&b, "  %q:\n%s", k, sides("    ", showValue(wv), showValue(gv)))
			}
		}
		for k, gv := range got.Attributes().All() {
			if _, ok := want.Attributes().Get(k); !ok {
				fmt.Fprintf(&b, "  %q only from transform: %s\n", k, showValue(gv))
			}
		}
		return b.String()
	}},
}

func sides(indent, want, got string) string {
	return fmt.Sprintf("%[1]sjsonlogparse: %[2]s\n%[1]stransform:    %[3]s\n", indent, want, got)
}

// showValue is the value's type and JSON, cut to a readable length.
func showValue(v pcommon.Value) string {
	s := v.AsString()
	if n := 200; len(s) > n {
		for !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return v.Type().String() + " " + s
}

// sameValue compares values as JSON data: OTTL's ParseJSON makes every
// number a double while this processor keeps integers as ints, so an int
// and a double holding the same number are equal. Maps compare by key, not
// insertion order.
func sameValue(a, b pcommon.Value) bool {
	switch {
	case a.Type() == pcommon.ValueTypeInt && b.Type() == pcommon.ValueTypeDouble:
		return intEqualsDouble(a.Int(), b.Double())
	case a.Type() == pcommon.ValueTypeDouble && b.Type() == pcommon.ValueTypeInt:
		return intEqualsDouble(b.Int(), a.Double())
	case a.Type() != b.Type():
		return false
	}
	switch a.Type() {
	case pcommon.ValueTypeMap:
		return sameMap(a.Map(), b.Map())
	case pcommon.ValueTypeSlice:
		if a.Slice().Len() != b.Slice().Len() {
			return false
		}
		for i := range a.Slice().Len() {
			if !sameValue(a.Slice().At(i), b.Slice().At(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

func sameMap(a, b pcommon.Map) bool {
	if a.Len() != b.Len() {
		return false
	}
	for k, av := range a.All() {
		bv, ok := b.Get(k)
		if !ok || !sameValue(av, bv) {
			return false
		}
	}
	return true
}

// intEqualsDouble is exact: the double must hold exactly the integer.
func intEqualsDouble(i int64, d float64) bool {
	return d == math.Trunc(d) && d >= math.MinInt64 && d < math.MaxInt64 && int64(d) == i
}
