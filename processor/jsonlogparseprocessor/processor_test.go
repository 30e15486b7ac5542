package jsonlogparseprocessor

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"
)

// Regenerate the goldens with: go test ./processor/jsonlogparseprocessor -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// observed is the fixed observed time of every corpus record.
const observed = pcommon.Timestamp(1764064800_000000000)

// corpusLogs turns a corpus file into one record per line, the line as body
// and the invocation's trace context on the record, as the lambdatelemetry
// receiver delivers function output.
func corpusLogs(t testing.TB, path string) plog.Logs {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "corpus")
	sl := rl.ScopeLogs().AppendEmpty()
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(observed)
		setInvocationContext(lr)
		lr.Body().SetStr(line)
	}
	return ld
}

// runProcessor sends ld through a processor built from cfg and returns what
// came out, with the telemetry it recorded.
func runProcessor(t testing.TB, cfg *Config, ld plog.Logs) (plog.Logs, *componenttest.Telemetry) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0], tel
}

func defaultConfig() *Config { return createDefaultConfig().(*Config) }

func TestGolden(t *testing.T) {
	corpus, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, corpus)
	tests := []struct {
		name  string
		files []string // corpus file names; nil means all
		cfg   func(*Config)
	}{
		{name: "default", cfg: func(*Config) {}},
		{
			name:  "skywalking",
			files: []string{"powertools_python", "pino", "otel_bridges", "runtime_prefix", "serilog_compact", "large", "broken"},
			cfg:   func(c *Config) { c.SkyWalking.Enabled = true },
		},
		{
			name:  "flatten",
			files: []string{"pino", "slog", "powertools_typescript", "broken"},
			cfg:   func(c *Config) { c.Flatten.Enabled, c.Flatten.Separator = true, "_" },
		},
		{
			name:  "limits",
			files: []string{"powertools_typescript", "pino", "broken"},
			cfg: func(c *Config) {
				c.Limits = LimitsConfig{MaxDepth: 1, MaxAttributes: 6, MaxValueBytes: 16}
			},
		},
		{
			name:  "python_levels_no_prefixes",
			files: []string{"pino", "runtime_prefix"},
			cfg: func(c *Config) {
				c.Severity.NumberScheme = schemePython
				c.RuntimePrefixes = false
			},
		},
	}
	for _, tt := range tests {
		files := tt.files
		if files == nil {
			for _, f := range corpus {
				files = append(files, strings.TrimSuffix(filepath.Base(f), ".txt"))
			}
		}
		for _, name := range files {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				cfg := defaultConfig()
				tt.cfg(cfg)
				require.NoError(t, cfg.Validate())
				got, _ := runProcessor(t, cfg, corpusLogs(t, filepath.Join("testdata", "corpus", name+".txt")))
				goldenPath := filepath.Join("testdata", "golden", tt.name, name+".yaml")
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(goldenPath), 0o755))
					require.NoError(t, golden.WriteLogsToFile(goldenPath, got))
				}
				want, err := golden.ReadLogs(goldenPath)
				require.NoError(t, err)
				require.NoError(t, plogtest.CompareLogs(want, got))
				requireNoForeignSpans(t, got)
			})
		}
	}
}

// requireNoForeignSpans checks that no record pairs the invocation's span id
// with another trace.
func requireNoForeignSpans(t *testing.T, ld plog.Logs) {
	t.Helper()
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		lr := lrs.At(i)
		if lr.TraceID() != invocationTrace {
			assert.NotEqual(t, invocationSpan, lr.SpanID(), "record %d: the invocation's span id with trace %s", i, lr.TraceID())
		}
	}
}

// TestConcurrentBatches runs batches through one processor from several
// goroutines (as receivers may): each result must equal the golden, which
// under -race also proves the pooled scratch state is never shared.
func TestConcurrentBatches(t *testing.T) {
	input := corpusLogs(t, filepath.Join("testdata", "corpus", "pino.txt"))
	want, err := golden.ReadLogs(filepath.Join("testdata", "golden", "default", "pino.yaml"))
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), defaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	const workers, batches = 4, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range batches {
				ld := plog.NewLogs()
				input.CopyTo(ld)
				assert.NoError(t, p.ConsumeLogs(context.Background(), ld))
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), workers*batches)
	for _, got := range sink.AllLogs() {
		require.NoError(t, plogtest.CompareLogs(want, got))
	}
}

// In SkyWalking mode a line that is not JSON (a print(), a stack trace) still
// gets the correlation attributes and a string body: SkyWalking reads neither
// the record's trace id nor a map body.
func TestSkyWalkingShapesUnparsedRecords(t *testing.T) {
	cfg := defaultConfig()
	cfg.SkyWalking.Enabled = true
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	plain := lrs.AppendEmpty()
	plain.Body().SetStr("Traceback (most recent call last):")
	plain.SetTraceID(pcommon.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	plain.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 0xcd})
	plain.SetSeverityNumber(plog.SeverityNumberError)
	mapBody := lrs.AppendEmpty()
	mapBody.Body().SetEmptyMap().PutStr("k", "v")

	out, _ := runProcessor(t, cfg, ld)
	got := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	attrs := got.At(0).Attributes().AsRaw()
	assert.Equal(t, "ab0102030405060708090a0b0c0d0e0f", attrs["trace_id"])
	assert.Equal(t, "01020304050607cd", attrs["span_id"])
	assert.Equal(t, "ERROR", attrs["level"])
	assert.Equal(t, "Traceback (most recent call last):", got.At(0).Body().Str())
	assert.Equal(t, pcommon.ValueTypeStr, got.At(1).Body().Type())
	assert.JSONEq(t, `{"k":"v"}`, got.At(1).Body().Str())
}
