package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// samplingStep is one invocation of the seeded workload: its payload, its
// caller's X-Ray header (the same in every run, so runs compare by trace
// id) and a timeout when it is to time out.
type samplingStep struct {
	payload string
	header  string
	timeout time.Duration
}

const (
	slowAction   = 400 * time.Millisecond
	slowOver     = 200 * time.Millisecond // the preset's slow threshold in the sampled run
	timeoutAfter = 250 * time.Millisecond
)

// samplingWorkload is n invocations: mostly normal, some failing, slow or
// timing out, drawn from seed; trace ids from seed too.
func samplingWorkload(n int, seed uint64) []samplingStep {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	steps := make([]samplingStep, n)
	for i := range steps {
		s := samplingStep{payload: `{"action":"normal"}`}
		switch r := rng.Float64(); {
		case i == 0: // the cold start: an uneventful invocation otherwise
		case r < 0.06:
			s.payload = `{"action":"fail"}`
		case r < 0.10:
			s.payload = `{"action":"slow"}`
		case r < 0.12:
			s.payload, s.timeout = `{"action":"timeout"}`, timeoutAfter
		}
		s.header = fmt.Sprintf("Root=1-6745d000-%016x%08x;Parent=%016x;Sampled=1", rng.Uint64(), rng.Uint32(), rng.Uint64())
		steps[i] = s
	}
	return steps
}

// samplingRun is what one run of the workload delivered.
type samplingRun struct {
	results  []lambdaemu.InvokeResult
	duration map[string]time.Duration // request id -> runtimeDone durationMs
	logged   map[string]int           // request id -> lines the function wrote
	spans    map[string]int           // trace id -> spans at the backend
	reasons  map[string]map[string]bool
	lines    map[string]int // request id -> function records at the backend
	metrics  map[string]int64
	bytes    map[faultbackend.Signal]int // OTLP protobuf bytes (uncompressed) exported, by signal
}

// runSamplingWorkload runs the built binary under the emulator with config
// and env (by default the end strategy: each invocation decided before its
// freeze; env may name another).
func runSamplingWorkload(t *testing.T, config string, env []string, steps []samplingStep) samplingRun {
	bin := extensionBinary(t)
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: "sentiment", MemoryMB: 256, Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer emu.Close()
	var out lambdaemutest.Output
	proc, err := emu.StartExtension(bin, lambdaemu.ProcessOptions{
		Args: loopback.CollectorArgs(config, otlpHTTP, freeAddr(t)),
		Env: append([]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint(), "TMPDIR=" + t.TempDir(),
			"OTELCOL_LAMBDA_FLUSH_STRATEGY=end"}, env...),
		Output: &out,
		Freeze: true,
	})
	require.NoError(t, err)

	run := samplingRun{duration: map[string]time.Duration{}, logged: map[string]int{}, spans: map[string]int{},
		reasons: map[string]map[string]bool{}, lines: map[string]int{}, metrics: map[string]int64{}, bytes: map[faultbackend.Signal]int{}}
	var mu sync.Mutex
	fn := samplefunction.New("http://"+otlpHTTP, slowAction)
	defer fn.Close()
	emu.RunRuntime(context.Background(), func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		log := inv.Log
		inv.Log = func(line string) {
			mu.Lock()
			run.logged[inv.RequestID]++
			mu.Unlock()
			log(line)
		}
		if string(inv.Payload) == `{"action":"timeout"}` {
			// One line, then nothing until the deadline: nothing of it is
			// written after the platform ended it.
			inv.Log(`{"level":"INFO","event":"inference_start","message":"waiting"}`)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return fn.Handle(ctx, inv)
	})
	for i, s := range steps {
		res, err := emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte(s.payload), TraceHeader: s.header, Timeout: s.timeout})
		require.NoError(t, err, "invoke %d; extension output:\n%s", i, out.String())
		run.results = append(run.results, res)
	}
	res, err := emu.Shutdown(context.Background(), "spindown")
	require.NoError(t, err)
	require.True(t, res.OK(), "the extension must exit within the SHUTDOWN deadline: %+v\n%s", res, out.String())
	<-proc.Done()
	require.NoError(t, proc.ExitErr(), out.String())
	assert.NotContains(t, out.String(), "panic")

	for _, env := range emu.Records() {
		if env.Type != "platform.runtimeDone" {
			continue
		}
		var r struct {
			RequestID string `json:"requestId"`
			Metrics   struct {
				DurationMs float64 `json:"durationMs"`
			} `json:"metrics"`
		}
		require.NoError(t, json.Unmarshal(env.Record, &r))
		run.duration[r.RequestID] = time.Duration(r.Metrics.DurationMs * float64(time.Millisecond))
	}
	be.ForEachSpan(func(_ pcommon.Resource, span ptrace.Span) {
		tr := span.TraceID().String()
		run.spans[tr]++
		if r, ok := span.Attributes().Get("sampling.reason"); ok {
			if run.reasons[tr] == nil {
				run.reasons[tr] = map[string]bool{}
			}
			run.reasons[tr][r.Str()] = true
		}
	})
	be.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) {
		if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() != "function" {
			return
		}
		id, _ := lr.Attributes().Get("faas.invocation_id")
		run.lines[id.Str()]++
	})
	for _, a := range be.Arrivals() {
		switch a.Signal {
		case faultbackend.SignalTraces:
			run.bytes[a.Signal] += new(ptrace.ProtoMarshaler).TracesSize(a.Traces)
		case faultbackend.SignalLogs:
			run.bytes[a.Signal] += new(plog.ProtoMarshaler).LogsSize(a.Logs)
		case faultbackend.SignalMetrics:
			run.bytes[a.Signal] += new(pmetric.ProtoMarshaler).MetricsSize(a.Metrics)
		}
	}
	for _, name := range []string{"faas.invocations", "faas.errors", "faas.timeouts", "faas.coldstarts", "inference_duration_ms"} {
		run.metrics[name], _ = be.lastSum(name)
	}
	return run
}

// TestSamplingPresetOnEmulator runs one seeded workload through the whole
// binary with the shipped config, then with the sampling preset at a 10%
// base rate, flushing at the end of each invocation and with the default
// adaptive strategy (which lets the environment freeze before the
// invocation's end arrives). Sampled, every failed, timed-out, cold and slow
// invocation arrives whole (all its spans, as many as unsampled, all its
// lines), no invocation arrives in part, the uneventful ones are kept at 10%
// within statistical bounds, and the derived metrics are those of the full run.
func TestSamplingPresetOnEmulator(t *testing.T) {
	steps := samplingWorkload(300, 2026)
	full := runSamplingWorkload(t, repoFile("collector-config.yaml"), nil, steps)
	for _, strategy := range []string{"end", "adaptive"} {
		t.Run(strategy, func(t *testing.T) {
			sampled := runSamplingWorkload(t, repoFile("presets/sampling/collector-config.yaml"), []string{
				"OTELCOL_LAMBDA_FLUSH_STRATEGY=" + strategy,
				"OTELCOL_LAMBDA_SAMPLING_PERCENTAGE=10",
				"OTELCOL_LAMBDA_SAMPLING_SLOW_THRESHOLD=" + slowOver.String(),
				"OTELCOL_LAMBDA_SAMPLING_SLOW_PERCENTILE=0",
			}, steps)
			requireSampledWhole(t, steps, full, sampled)
		})
	}
}

func requireSampledWhole(t *testing.T, steps []samplingStep, full, sampled samplingRun) {
	assert.Equal(t, full.metrics, sampled.metrics, "derived and platform metrics see every invocation")
	assert.Equal(t, int64(len(steps)), sampled.metrics["faas.invocations"])
	for _, name := range []string{"faas.errors", "faas.timeouts", "faas.coldstarts", "inference_duration_ms"} {
		assert.Positive(t, sampled.metrics[name], "the workload has %s", name)
	}

	fullByTrace := map[string]int{}
	for i, res := range full.results {
		tr, _ := samplefunction.XRay(steps[i].header)
		fullByTrace[tr.String()] = full.spans[tr.String()]
		require.Positive(t, full.spans[tr.String()], "unsampled run: invocation %d has spans", i)
		require.Equal(t, full.logged[res.RequestID], full.lines[res.RequestID], "unsampled run: invocation %d has all its lines", i)
	}
	var eventful, others, keptOthers int
	for i, res := range sampled.results {
		tr, _ := samplefunction.XRay(steps[i].header)
		id := res.RequestID
		spans, lines := sampled.spans[tr.String()], sampled.lines[id]
		whole := spans == fullByTrace[tr.String()] && lines == sampled.logged[id]
		if spans+lines > 0 {
			assert.True(t, whole, "invocation %d (%s, %s) arrived in part: %d of %d spans, %d of %d lines",
				i, steps[i].payload, res.Status, spans, fullByTrace[tr.String()], lines, sampled.logged[id])
		}
		switch {
		case res.Status != "success" || i == 0 || sampled.duration[id] > slowOver:
			eventful++
			assert.True(t, whole, "invocation %d (%s, %s, %v) must be kept whole", i, steps[i].payload, res.Status, sampled.duration[id])
		default:
			others++
			if spans > 0 {
				keptOthers++
				assert.Equal(t, map[string]bool{"base_rate": true}, sampled.reasons[tr.String()], "invocation %d", i)
			}
		}
	}
	require.Positive(t, eventful)
	// Binomial bounds, 4 standard deviations: the trace ids are seeded, so
	// this run's outcome is the same every time.
	sd := math.Sqrt(float64(others) * 0.1 * 0.9)
	assert.InDelta(t, 0.1*float64(others), float64(keptOthers), 4*sd, "kept %d of %d uneventful invocations", keptOthers, others)
	t.Logf("eventful %d (kept whole), uneventful %d, of which kept %d", eventful, others, keptOthers)
	for _, r := range []struct {
		name string
		run  samplingRun
	}{{"full", full}, {"sampled", sampled}} {
		per := func(sig faultbackend.Signal) int { return r.run.bytes[sig] * 1000 / len(steps) }
		t.Logf("%s: OTLP bytes exported per 1000 invocations: traces %d, logs %d, metrics %d",
			r.name, per(faultbackend.SignalTraces), per(faultbackend.SignalLogs), per(faultbackend.SignalMetrics))
	}
}
