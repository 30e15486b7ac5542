package realbackends

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

func repoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}

// TestRealBackends: the example ML function and the extension under the
// emulator, exporting to Jaeger, VictoriaLogs and VictoriaMetrics; then every
// invocation is found again in all three, correlated by its trace id.
func TestRealBackends(t *testing.T) {
	ctx, be, bin, function, out := setup(t)
	repo := repoRoot()
	res, err := Run(ctx, be.Direct(filepath.Join(repo, "collector-config.yaml"), nil), bin, function, Plan, out)
	require.NoError(t, err, out.String())
	require.NoError(t, be.Flush(ctx))

	byName := map[string][]Invocation{}
	for _, inv := range res.Invocations {
		byName[inv.Name] = append(byName[inv.Name], inv)
	}
	assert.Equal(t, "timeout", byName["timeout"][0].Status)
	assert.Equal(t, "error", byName["failing"][0].Status)

	successes := 0
	for i, inv := range res.Invocations {
		// Traces: one server span per invocation with the X-Ray trace id, and
		// the function's own inference span in the same trace.
		var spans []Span
		require.Eventually(t, func() bool {
			spans, err = be.Trace(ctx, inv.TraceID)
			return err == nil && hasServerSpan(spans)
		}, time.Minute, 200*time.Millisecond, "%s invocation %s: no server span in Jaeger", inv.Name, inv.TraceID)
		var servers, inferences []Span
		for _, s := range spans {
			switch {
			case s.Tag("span.kind") == "server":
				servers = append(servers, s)
			case s.OperationName == "inference":
				inferences = append(inferences, s)
			}
		}
		require.Len(t, servers, 1, "%s: one server span", inv.Name)
		server := servers[0]
		assert.Equal(t, inv.RequestID, server.Tag("faas.invocation_id"))
		assert.Equal(t, i == 0, server.Tag("faas.coldstart") == "true", "%s: faas.coldstart", inv.Name)
		switch inv.Name {
		case "failing":
			assert.Equal(t, "true", server.Tag("error"), "the failing invocation's span is an error")
		case "timeout":
			assert.Equal(t, "true", server.Tag("error"))
			assert.Equal(t, "timeout", server.Tag("aws.lambda.status"))
		default:
			successes++
		}
		if inv.Name != "timeout" { // a timed-out function never got to flush its SDK
			require.Len(t, inferences, 1, "%s: the function's own span", inv.Name)
			assert.Equal(t, inv.TraceID, inferences[0].TraceID)
			assert.Equal(t, server.SpanID, inferences[0].Parent(), "%s: the function's span is a child of the invocation span", inv.Name)
		}

		// Logs: every function line of the invocation carries its trace id,
		// and that trace id is on no other invocation's lines.
		lines, err := be.Logs(ctx, `faas.invocation_id:="`+inv.RequestID+`" aws.lambda.telemetry.type:="function"`)
		require.NoError(t, err)
		require.NotEmpty(t, lines, "%s: function log lines in VictoriaLogs", inv.Name)
		assert.Len(t, lines, res.FunctionLines[inv.RequestID], "%s: function log lines in VictoriaLogs vs lines Lambda delivered", inv.Name)
		for _, l := range lines {
			assert.Equal(t, inv.TraceID, l["trace_id"], "%s: line %v", inv.Name, l["_msg"])
		}
		byTrace, err := be.Logs(ctx, `trace_id:="`+inv.TraceID+`"`)
		require.NoError(t, err)
		for _, l := range byTrace {
			if id, ok := l["faas.invocation_id"]; ok {
				assert.Equal(t, inv.RequestID, id, "a line of another invocation carries %s's trace id", inv.Name)
			}
		}
	}

	// Nothing the function wrote is missing.
	all, err := be.Logs(ctx, `aws.lambda.telemetry.type:="function"`)
	require.NoError(t, err)
	delivered := 0
	for _, n := range res.FunctionLines {
		delivered += n
	}
	assert.Equal(t, delivered, len(all), "function log lines in VictoriaLogs vs lines Lambda delivered")

	// Metrics: the histogram derived from the logs counts the successful
	// inferences; the platform metrics show the cold start, error and timeout.
	for query, want := range map[string]float64{
		`sum({__name__="inference_duration_ms_count"})`: float64(successes),
		`sum({__name__="faas.invocations"})`:            float64(len(res.Invocations)),
		`sum({__name__="faas.coldstarts"})`:             1,
		`sum({__name__="faas.errors"})`:                 1,
		`sum({__name__="faas.timeouts"})`:               1,
	} {
		var got float64
		var found bool
		assert.Eventually(t, func() bool {
			_ = be.Flush(ctx)
			got, found, err = be.Metric(ctx, query)
			return err == nil && found && got == want
		}, 30*time.Second, 500*time.Millisecond, "%s: want %v, got %v (found %v, err %v)", query, want, got, found, err)
	}
	assert.NotContains(t, strings.ToLower(out.String()), "panic")
}

// setup skips unless the extension binary and the backends are there, then
// starts the backends (stopped at cleanup) and builds the example function.
func setup(t *testing.T) (ctx context.Context, be *Backends, bin, function string, out *lambdaemutest.Output) {
	bin = os.Getenv("OTELCOL_LAMBDA_BIN")
	if bin == "" || os.Getenv("OTELCOL_LAMBDA_BACKENDS") == "" {
		t.Skip("needs OTELCOL_LAMBDA_BIN and the backends installed (OTELCOL_LAMBDA_BACKENDS=1): run `make test`, which builds both")
	}
	repo := repoRoot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	out = new(lambdaemutest.Output)
	be, err := Start(ctx, repo, t.TempDir(), out)
	require.NoError(t, err, out.String())
	t.Cleanup(func() { assert.NoError(t, be.Stop()) })
	function, err = BuildFunction(ctx, repo, t.TempDir())
	require.NoError(t, err)
	return ctx, be, bin, function, out
}

// TestRealBackendsSampling runs the sampling plan with the shipped config
// and with the sampling preset (10% base rate, seeded trace ids). Sampled,
// the cold, slow, failed and timed-out invocations and the slowest one are
// in Jaeger and VictoriaLogs whole (as many spans and records as unsampled,
// every line Lambda delivered), no invocation is there in part, some normal
// ones are not there at all, and what is missing is what the in-band
// counters say was dropped.
func TestRealBackendsSampling(t *testing.T) {
	ctx, be, bin, function, out := setup(t)
	s, err := RunSampling(ctx, be, bin, repoRoot(), function, SamplingPlan(24, 12), out)
	require.NoError(t, err, out.String())

	slowest := Slowest(s.Sampled.Invocations)
	kept, dropped := 0, 0
	for i, inv := range s.Sampled.Invocations {
		full := s.Full.Invocations[i]
		require.Equal(t, full.Status, inv.Status, "#%d %s: both runs end alike", i+1, inv.Name)
		require.Positive(t, s.FullAt[i].Spans, "#%d %s: unsampled spans", i+1, inv.Name)
		require.Equal(t, s.Full.FunctionLines[full.RequestID], s.FullAt[i].Lines, "#%d %s: unsampled lines", i+1, inv.Name)
		assert.True(t, s.Whole(i) || s.Dropped(i), "#%d %s arrived in part: %+v of %+v", i+1, inv.Name, s.SampledAt[i], s.FullAt[i])
		reason := map[string]string{"cold start": "cold_start", "slow": "slow", "failing": "error", "timeout": "timeout"}[inv.Name]
		switch {
		case reason != "":
			assert.True(t, s.Whole(i), "#%d %s must be kept whole: %+v of %+v", i+1, inv.Name, s.SampledAt[i], s.FullAt[i])
			assert.Equal(t, reason, s.SampledAt[i].Reason, "#%d %s", i+1, inv.Name)
		case s.Dropped(i):
			dropped++
		default:
			kept++
			// A normal invocation slower than the threshold on a loaded
			// machine is kept as slow.
			assert.Contains(t, []string{"base_rate", "slow"}, s.SampledAt[i].Reason, "#%d %s", i+1, inv.Name)
		}
		if inv.RequestID == slowest.RequestID {
			assert.True(t, s.Whole(i), "the slowest invocation (#%d %s) must be kept whole", i+1, inv.Name)
		}
	}
	assert.Positive(t, dropped, "some normal invocations are dropped")
	t.Logf("normal invocations: %d kept, %d dropped", kept, dropped)

	assert.Equal(t, float64(dropped), s.DroppedInvocations)
	assert.Equal(t, float64(len(s.Sampled.Invocations)-dropped), s.KeptInvocations)
	fullSpans, fullRecords := Totals(s.FullAt)
	spans, records := Totals(s.SampledAt)
	assert.Equal(t, float64(fullSpans-spans), s.DroppedSpans, "spans missing from Jaeger vs counted as dropped")
	assert.Equal(t, float64(fullRecords-records), s.DroppedRecords, "log records missing from VictoriaLogs vs counted as dropped")
	t.Logf("spans %d -> %d, log records %d -> %d", fullSpans, spans, fullRecords, records)
	assert.NotContains(t, strings.ToLower(out.String()), "panic")
}

func hasServerSpan(spans []Span) bool {
	for _, s := range spans {
		if s.Tag("span.kind") == "server" {
			return true
		}
	}
	return false
}
