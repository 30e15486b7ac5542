// Package stanza benchmarks contrib's stanza json_parser doing the
// jsonlogparse processor's job on its corpus: pdata to stanza entries (as the
// logstransform processor does), json_parser with timestamp, severity, trace
// and body, and back to pdata. Run it beside the main benchmark:
//
//	cd bench/stanza && go test -run '^$' -bench . -benchtime 1s -count 6 -cpu 1
package stanza

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/entry"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/parser/jsonparser"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"
)

// corpus is the same batch BenchmarkCompare uses: every well-formed line of
// the processor's corpus as a string body.
func corpus(b *testing.B) plog.Logs {
	paths, err := filepath.Glob(filepath.Join("..", "..", "processor", "jsonlogparseprocessor", "testdata", "corpus", "*.txt"))
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
			sl.LogRecords().AppendEmpty().Body().SetStr(line)
		}
	}
	require.Positive(b, ld.LogRecordCount())
	return ld
}

func BenchmarkStanzaJSONParser(b *testing.B) {
	ld := corpus(b)
	records := ld.LogRecordCount()
	set := componenttest.NewNopTelemetrySettings()

	cfg := jsonparser.NewConfig()
	require.NoError(b, confmap.NewFromStringMap(map[string]any{
		"parse_from": "body",
		"parse_to":   "attributes",
		"body":       "attributes.message",
		"on_error":   "send_quiet",
		"timestamp":  map[string]any{"parse_from": "attributes.timestamp", "layout_type": "gotime", "layout": time.RFC3339Nano},
		"severity":   map[string]any{"parse_from": "attributes.level"},
		"trace": map[string]any{
			"trace_id": map[string]any{"parse_from": "attributes.trace_id"},
			"span_id":  map[string]any{"parse_from": "attributes.span_id"},
		},
	}).Unmarshal(cfg))
	out := testutil.NewFakeOutput(b)
	cfg.OutputIDs = []string{out.ID()}
	op, err := cfg.Build(set)
	require.NoError(b, err)
	require.NoError(b, op.SetOutputs([]operator.Operator{out}))

	conv := adapter.NewFromPdataConverter(set, 1)
	conv.Start()
	b.Cleanup(conv.Stop)

	processed := make([]*entry.Entry, 0, records)
	run := func() plog.Logs {
		c := plog.NewLogs()
		ld.CopyTo(c)
		require.NoError(b, conv.Batch(c))
		entries := <-conv.OutChannel()
		require.NoError(b, op.ProcessBatch(context.Background(), entries))
		// ProcessBatch is synchronous: whatever it emitted is buffered.
		processed = processed[:0]
		for len(out.Received) > 0 {
			processed = append(processed, <-out.Received)
		}
		return adapter.ConvertEntries(processed)
	}
	// The parse really happens: the first corpus line (Lambda's JSON format)
	// comes out with its message as body and its fields as attributes.
	first := run().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	require.Len(b, processed, records)
	require.Equal(b, "Inside the handler function", first.Body().Str())
	_, ok := first.Attributes().Get("requestId")
	require.True(b, ok)

	var before, after runtime.MemStats
	var cpuBefore, cpuAfter syscall.Rusage
	runtime.GC()
	runtime.ReadMemStats(&before)
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &cpuBefore))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &cpuAfter))
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(records)
	cpu := time.Duration(cpuAfter.Utime.Nano() + cpuAfter.Stime.Nano() - cpuBefore.Utime.Nano() - cpuBefore.Stime.Nano())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
}
