package invocationsamplingprocessor

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor/internal/metadata"
)

// Regenerate the goldens with: go test ./processor/invocationsamplingprocessor -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	rndKept    = 1<<56 - 1 // passes any base rate
	rndDropped = 0         // passes none below 100%
)

func scenarioConfig() *Config {
	cfg := createDefaultConfig()
	cfg.Slow = SlowConfig{Threshold: time.Second}
	cfg.HonorUpstreamSampled = true
	cfg.OrphanAfter = 2 // the scenario has a handful of invocations
	return cfg
}

// One environment's life: every policy, the base rate both ways, late lines
// and a trace no invocation claims.
var (
	invCold     = inv{id: "cold", trace: traceWithRandomness(1, rndDropped), status: "success", cold: true, duration: 80 * time.Millisecond}
	invError    = inv{id: "error", trace: traceWithRandomness(2, rndDropped), status: "error", duration: 10 * time.Millisecond, at: time.Second}
	invTimeout  = inv{id: "timeout", trace: traceWithRandomness(3, rndDropped), status: "timeout", duration: 3 * time.Second, at: 2 * time.Second}
	invCrash    = inv{id: "crash", trace: traceWithRandomness(4, rndDropped), status: "failure", duration: 5 * time.Millisecond, at: 6 * time.Second}
	invSlow     = inv{id: "slow", trace: traceWithRandomness(5, rndDropped), status: "success", duration: 1500 * time.Millisecond, at: 7 * time.Second}
	invUpstream = inv{id: "upstream", trace: traceWithRandomness(6, rndDropped), status: "success", duration: 10 * time.Millisecond, sampled: true, at: 9 * time.Second}
	invKept     = inv{id: "kept", trace: traceWithRandomness(7, rndKept), status: "success", duration: 10 * time.Millisecond, at: 10 * time.Second}
	invDropped  = inv{id: "dropped", trace: traceWithRandomness(8, rndDropped), status: "success", duration: 10 * time.Millisecond, at: 11 * time.Second}
	invOrphan   = inv{id: "orphan", trace: traceWithRandomness(9, rndDropped)}
	scenario    = []inv{invCold, invError, invTimeout, invCrash, invSlow, invUpstream, invKept, invDropped}
)

func TestGolden(t *testing.T) {
	h := newHarness(t, scenarioConfig())
	h.consumeTraces(functionSpans(invOrphan)) // a trace of the function's own, no invocation's
	h.run(scenario...)
	// Late lines (Telemetry API deliveries after the end) follow their decision.
	h.consumeLogs(functionLogs(1, invKept, invDropped))

	a := h.arrived(append(scenario, invOrphan)...)
	want := map[string]string{
		"cold": reasonColdStart, "error": reasonError, "timeout": reasonTimeout, "crash": reasonCrash,
		"slow": reasonSlow, "upstream": reasonUpstream, "kept": reasonBaseRate, "orphan": reasonUndecided,
	}
	assert.Equal(t, want, a.reasons)
	for id := range want {
		if id == "orphan" {
			assert.Equal(t, 1, a.spans[id])
			continue
		}
		assert.Equal(t, 3, a.spans[id], "%s: server span, phase and function span", id)
		wantLogs := 2
		if id == "kept" {
			wantLogs = 3
		}
		assert.Equal(t, wantLogs, a.logs[id], "%s: its lines", id)
	}
	assert.Zero(t, a.spans["dropped"]+a.logs["dropped"], "nothing of the dropped invocation")
	assert.Equal(t, "ot=th:e6666666666666", a.traceStates["kept"], "10%: th = (1-0.1)*2^56")
	assert.Equal(t, "e6666666666666", a.thresholds["kept"])
	assert.Equal(t, "ot=th:0", a.traceStates["error"], "kept by a policy: probability 1")
	assert.Equal(t, float64(3), h.stat("dropped_records", map[string]string{"signal": "spans", "reason": reasonSampledOut}))
	assert.Equal(t, float64(3), h.stat("dropped_records", map[string]string{"signal": "logs", "reason": reasonSampledOut}))
	assert.Equal(t, float64(1), h.stat("invocations", map[string]string{"decision": "dropped", "reason": reasonSampledOut}))
	assert.Equal(t, float64(0), h.stat("pending.groups", nil))

	spansPath, logsPath := filepath.Join("testdata", "golden", "traces.yaml"), filepath.Join("testdata", "golden", "logs.yaml")
	gotSpans, gotLogs := h.allSpans(), h.allLogs()
	if *update {
		require.NoError(t, golden.WriteTraces(t, spansPath, gotSpans))
		require.NoError(t, golden.WriteLogs(t, logsPath, gotLogs))
	}
	wantSpans, err := golden.ReadTraces(spansPath)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(wantSpans, gotSpans))
	wantLogs, err := golden.ReadLogs(logsPath)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(wantLogs, gotLogs))
}

// An upstream sampler's lower probability stands; a higher one is replaced,
// other vendors' entries are kept.
func TestTraceStateCombines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{in: "ot=th:fd70a3d70a3d7;rv:ffffffffffffff,xray=1", want: "ot=th:fd70a3d70a3d7;rv:ffffffffffffff,xray=1"},
		{in: "xray=1", want: "ot=th:e6666666666666,xray=1"},
		{in: "ot=th:8", want: "ot=th:e6666666666666"},
	} {
		h := newHarness(t, scenarioConfig())
		td := functionSpans(invKept)
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceState().FromRaw(tc.in)
		h.consumeTraces(td)
		h.consumeTraces(serverSpans(invKept))
		got := map[string]bool{}
		for _, rs := range h.allSpans().ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					got[s.TraceState().AsRaw()] = true
				}
			}
		}
		assert.Equal(t, map[string]bool{tc.want: true, "ot=th:e6666666666666": true}, got, tc.in)
	}
}

// With a 10% base rate, over a seeded run of uneventful invocations, the
// kept share is within 4 standard deviations of 10%, every invocation is
// kept or dropped whole, and what is kept says 10%.
func TestBaseRateShare(t *testing.T) {
	h := newHarness(t, createDefaultConfig())
	rng := rand.New(rand.NewPCG(12, 34))
	const n = 5000
	var invs []inv
	for i := range n {
		v := inv{id: fmt.Sprintf("inv-%d", i), trace: traceWithRandomness(byte(i), rng.Uint64()), status: "success", duration: 10 * time.Millisecond, at: time.Duration(i) * time.Second}
		v.trace[1], v.trace[2] = byte(i>>8), byte(i>>16) // unique
		invs = append(invs, v)
	}
	h.consumeTraces(serverSpans(invs[0]))
	h.run(invs[1:]...)
	a := h.arrived(invs...)
	kept := 0
	for _, v := range invs {
		switch a.spans[v.id] {
		case 0:
			assert.Zero(t, a.logs[v.id], v.id)
		case 3:
			assert.Equal(t, 2, a.logs[v.id], v.id)
			assert.Equal(t, reasonBaseRate, a.reasons[v.id])
			assert.Equal(t, "e6666666666666", a.thresholds[v.id])
			kept++
		default:
			if v != invs[0] {
				t.Errorf("%s arrived partially: %d spans", v.id, a.spans[v.id])
			}
		}
	}
	sd := math.Sqrt(n * 0.1 * 0.9)
	assert.InDelta(t, n*0.1, float64(kept), 4*sd, "kept %d of %d", kept, n)
}

// The percentile policy keeps what is slower than the recent p90, once it
// has seen enough invocations.
func TestSlowPercentile(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.SamplingPercentage = 0
	cfg.Slow = SlowConfig{Percentile: 90, Window: 10, MinInvocations: 10}
	h := newHarness(t, cfg)
	var invs []inv
	for i := range 30 {
		d := 10 * time.Millisecond
		if i == 5 || i == 25 {
			d = time.Second
		}
		invs = append(invs, inv{id: fmt.Sprintf("inv-%d", i), trace: traceWithRandomness(byte(i+1), rndDropped), status: "success", duration: d, at: time.Duration(i) * time.Second})
	}
	h.run(invs...)
	a := h.arrived(invs...)
	// inv-5 came before the window was full; inv-25 is above the p90 of the
	// ten before it (inv-5 had left the window).
	assert.Equal(t, map[string]string{"inv-25": reasonSlow}, a.reasons)
}

// Undecided data is held through a background or catch-up flush (the
// invocation is still running), kept whole by a blocking or final one; what
// comes later follows.
func TestDrainReleasesPending(t *testing.T) {
	for _, mode := range []lambdalifecycle.Mode{lambdalifecycle.Blocking, lambdalifecycle.Final} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, scenarioConfig())
			h.consumeLogs(functionLogs(2, invDropped))
			h.consumeTraces(functionSpans(invDropped))
			require.NoError(t, h.registry.Drain(context.Background(), lambdalifecycle.Background))
			require.NoError(t, h.registry.Drain(context.Background(), lambdalifecycle.CatchUp))
			assert.Zero(t, h.spans.SpanCount()+h.records.LogRecordCount(), "held through background and catch-up flushes")
			assert.Equal(t, float64(1), h.stat("pending.groups", nil))
			require.NoError(t, h.registry.Drain(context.Background(), mode))
			h.consumeTraces(serverSpans(invDropped))
			h.consumeLogs(functionLogs(1, invDropped))
			a := h.arrived(invDropped)
			assert.Equal(t, 3, a.spans["dropped"])
			assert.Equal(t, 3, a.logs["dropped"])
			assert.Equal(t, reasonUndecided, a.reasons["dropped"])
			assert.Equal(t, float64(1), h.stat("invocations", map[string]string{"decision": "kept", "reason": reasonUndecided}))
		})
	}
}

// Past max_pending_bytes the oldest undecided invocation is kept whole
// (what comes of it later follows), never dropped.
func TestMemoryLimitKeepsOldest(t *testing.T) {
	cfg := scenarioConfig()
	cfg.MaxPendingBytes = 1000
	h := newHarness(t, cfg)
	h.consumeLogs(functionLogs(10, invDropped)) // about 100 bytes a line
	h.consumeLogs(functionLogs(1, invKept))
	h.consumeTraces(serverSpans(invDropped, invKept))
	a := h.arrived(invDropped, invKept)
	assert.Equal(t, reasonMemoryLimit, a.reasons["dropped"])
	assert.Equal(t, 10, a.logs["dropped"])
	assert.Equal(t, 2, a.spans["dropped"])
	assert.Equal(t, reasonBaseRate, a.reasons["kept"])
	assert.Equal(t, float64(1), h.stat("invocations", map[string]string{"decision": "kept", "reason": reasonMemoryLimit}))
}

// Two invocations in one caller's trace are decided each by its own outcome.
func TestSharedTraceDecidedPerInvocation(t *testing.T) {
	h := newHarness(t, scenarioConfig())
	first := inv{id: "first", trace: invDropped.trace, status: "success", duration: 10 * time.Millisecond}
	retry := inv{id: "retry", trace: invDropped.trace, status: "error", duration: 10 * time.Millisecond, at: time.Second}
	h.consumeLogs(functionLogs(2, first))
	h.consumeTraces(serverSpans(first))
	h.consumeLogs(functionLogs(2, retry))
	h.consumeTraces(serverSpans(retry))
	a := h.arrived()
	assert.Equal(t, 0, a.logs["first"])
	assert.Equal(t, 2, a.logs["retry"])
}

// The traces and logs pipelines of one config share a sampler, one drain
// hook and one set of stats; one config in two pipelines of a signal is refused.
func TestSharedAcrossPipelines(t *testing.T) {
	h := newHarness(t, scenarioConfig())
	assert.Equal(t, 1, h.registry.Len())
	h.run(invError)
	a := h.arrived(invError)
	assert.Equal(t, 2, a.logs["error"], "logs decided by the server span of the traces pipeline")
}

func TestOneSignalTwicePerConfigRefused(t *testing.T) {
	cfg := scenarioConfig()
	f := newFactory(&lambdalifecycle.Registry{})
	set := processortest.NewNopSettings(metadata.Type)
	p, err := f.CreateTraces(context.Background(), set, cfg, new(consumertest.TracesSink))
	require.NoError(t, err)
	_, err = f.CreateTraces(context.Background(), set, cfg, new(consumertest.TracesSink))
	require.ErrorContains(t, err, "two pipelines of one signal")
	require.NoError(t, p.Shutdown(context.Background()))
	// Shut down, its config can be used again (a reload).
	p, err = f.CreateTraces(context.Background(), set, cfg, new(consumertest.TracesSink))
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
}

// One batch mixing records that follow a decision (dropped here) with
// records held for an invocation still running.
func TestMixedBatch(t *testing.T) {
	h := newHarness(t, scenarioConfig())
	h.run(invDropped)
	h.consumeLogs(functionLogs(2, invDropped, invKept))
	h.consumeTraces(serverSpans(invKept))
	a := h.arrived(invDropped, invKept)
	assert.Zero(t, a.logs["dropped"])
	assert.Equal(t, 2, a.logs["kept"])
	assert.Equal(t, float64(4), h.stat("dropped_records", map[string]string{"signal": "logs", "reason": reasonSampledOut}))
}
