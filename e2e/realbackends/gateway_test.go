package realbackends

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/e2e/gatewaytest"
)

// gatewayPlan is what each environment of the scale-out test runs: a cold
// start, normal invocations and an error (no slow one or timeout: what is
// asserted is counts, not latency causes).
var gatewayPlan = []Step{Plan[0], Plan[1], Plan[3], Plan[4]}

// produced is what the environments of one function did: invocations,
// inference_success lines and the sum of their duration_ms, function lines,
// and of those the JSON ones with an event field.
type produced struct {
	invocations, successes, lines, eventLines int
	durationSum                               float64
}

// metrics is what VictoriaMetrics must hold of p, by metric name: the seed
// rule's histogram and the platform's invocation count.
func (p *produced) metrics() map[string]float64 {
	return map[string]float64{
		"inference_duration_ms_count": float64(p.successes),
		"inference_duration_ms_sum":   p.durationSum,
		"faas.invocations":            float64(p.invocations),
	}
}

// TestGatewayScaleOutRealBackends runs the whole path on loopback: three
// functions, each in environments of the layer's extension (shipped
// config, OTELCOL_LAMBDA_LOG_PROCESSORS=[]: the gateway parses) under the
// emulator, export to a front gateway (config-front.yaml: loadbalancing by
// service.name, queue on) → two replicas (config.yaml) → VictoriaMetrics,
// VictoriaLogs and Jaeger. Each replica's metrics carry its number and
// incarnation as labels (VictoriaMetrics' extra_label). Per function, the
// inference_duration_ms histogram's count and sum and faas.invocations in
// VictoriaMetrics equal what the functions did, every series of a function
// has one writer, and VictoriaLogs holds every function line, parsed. Then
// the replica serving fn-a stops, one more environment per function runs
// (the front tier queues that replica's share), the replica starts again on
// the same address as a new incarnation, one more runs, and all of it is
// still exact, each function still on its replica.
func TestGatewayScaleOutRealBackends(t *testing.T) {
	gatewayBin := os.Getenv("OTELCOL_LAMBDA_GATEWAY_BIN")
	if gatewayBin == "" {
		t.Skip("needs OTELCOL_LAMBDA_GATEWAY_BIN: run `make test`, which builds the gateway")
	}
	ctx, be, bin, function, out := setup(t)
	repo := repoRoot()

	replicaArgs := func(replica, incarnation int) []string {
		return be.ExporterArgs(fmt.Sprintf("gateway_replica=%d", replica), fmt.Sprintf("gateway_incarnation=%d", incarnation))
	}
	replicaEnv := []string{"GATEWAY_OTLP_ENDPOINT=" + be.JaegerOTLP, "GATEWAY_FLUSH_INTERVAL=200ms"}
	replicas := make([]*gatewaytest.Gateway, 2)
	for i := range replicas {
		replicas[i] = gatewaytest.Start(t, gatewayBin, filepath.Join(repo, "gateway", "config.yaml"), replicaEnv, replicaArgs(i, 1)...)
	}
	frontEnv, frontArgs := gatewaytest.FrontArgs(replicas...)
	front := gatewaytest.Start(t, gatewayBin, filepath.Join(repo, "gateway", "config-front.yaml"), frontEnv, frontArgs...)

	functions := []string{"fn-a", "fn-b", "fn-c"}
	want := map[string]*produced{}
	for _, fn := range functions {
		want[fn] = &produced{}
	}
	// runEnvironments runs n environments of every function, the functions
	// side by side.
	runEnvironments := func(n int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, fn := range functions {
			wg.Go(func() {
				for range n {
					env := Environment{FunctionName: fn, Config: filepath.Join(repo, "collector-config.yaml"),
						Env: []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=http://" + front.HTTP, "OTELCOL_LAMBDA_LOG_PROCESSORS=[]"}}
					res, err := Run(ctx, env, bin, function, gatewayPlan, out)
					if !assert.NoError(t, err, "%s", fn) {
						return
					}
					mu.Lock()
					p := want[fn]
					p.invocations += len(res.Invocations)
					p.successes += res.Successes
					p.durationSum += res.DurationSum
					p.eventLines += res.EventLines
					for _, n := range res.FunctionLines {
						p.lines += n
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.False(t, t.Failed(), out.String())
	}

	runEnvironments(2)
	for _, fn := range functions {
		require.Positive(t, want[fn].successes, "%s logged inference_success lines", fn)
	}
	writers := awaitMetrics(t, ctx, be, want)
	awaitLogs(t, ctx, be, want)
	t.Logf("replicas by function: %v", writers)

	// Restart the replica that serves fn-a while the functions run: their
	// data for it waits in the front tier's queue meanwhile. Then one more
	// environment each, to the restarted replica's new cumulative series.
	r := writers["fn-a"]
	replicas[r].Stop()
	runEnvironments(1)
	replicas[r].Args = append(replicas[r].Args[:1], replicaArgs(r, 2)...)
	replicas[r].Start()
	runEnvironments(1)
	assert.Equal(t, writers, awaitMetrics(t, ctx, be, want), "a function stays on its replica across the restart")
	awaitLogs(t, ctx, be, want)
	assert.NotContains(t, strings.ToLower(out.String()+front.String()+replicas[0].String()+replicas[1].String()), "panic")
}

// awaitMetrics waits (up to 2 minutes) until VictoriaMetrics holds, per
// function, exactly want's metrics: for each, the newest value of every
// series, each incarnation of a replica its own series (a restarted replica
// starts new cumulative series), summed. It checks that all series of a
// function came from one replica, and returns that replica by function.
func awaitMetrics(t *testing.T, ctx context.Context, be *Backends, want map[string]*produced) map[string]int {
	t.Helper()
	var got map[string]map[string]float64 // function -> metric -> total
	var replicas map[string]map[string]bool
	read := func() {
		got, replicas = map[string]map[string]float64{}, map[string]map[string]bool{}
		for metric := range (&produced{}).metrics() {
			// last_over_time: a stopped incarnation's series are stale for
			// an instant query within seconds, but still count.
			series, err := be.Query(ctx, `last_over_time({__name__="`+metric+`"}[1h])`)
			require.NoError(t, err)
			for _, s := range series {
				fn := s.Labels["service.name"]
				if got[fn] == nil {
					got[fn], replicas[fn] = map[string]float64{}, map[string]bool{}
				}
				got[fn][metric] += s.Value
				replicas[fn][s.Labels["gateway_replica"]] = true
			}
		}
	}
	done := func() bool {
		for fn, w := range want {
			for metric, v := range w.metrics() {
				if !closeTo(got[fn][metric], v) {
					return false
				}
			}
		}
		return len(got) == len(want)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		require.NoError(t, be.Flush(ctx))
		if read(); done() || time.Now().After(deadline) {
			break
		}
	}
	assert.Len(t, got, len(want), "functions in VictoriaMetrics: %v", slices.Collect(maps.Keys(got)))
	writers := map[string]int{}
	for fn, w := range want {
		for metric, v := range w.metrics() {
			assert.True(t, closeTo(got[fn][metric], v), "%s: %s is %v in VictoriaMetrics, the functions made %v", fn, metric, got[fn][metric], v)
		}
		require.Len(t, replicas[fn], 1, "%s: every series of the function from one replica, got %v", fn, slices.Collect(maps.Keys(replicas[fn])))
		for r := range replicas[fn] {
			n, err := strconv.Atoi(r)
			require.NoError(t, err, "%s: gateway_replica %q", fn, r)
			writers[fn] = n
		}
	}
	return writers
}

// closeTo compares sums of the same float64 values added in another order
// (exact for counts).
func closeTo(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(a, b, 1)
}

// awaitLogs waits (up to 2 minutes) until VictoriaLogs holds every function
// line of each function, and checks that each JSON one with an event
// arrived parsed (its event a field of the record).
func awaitLogs(t *testing.T, ctx context.Context, be *Backends, want map[string]*produced) {
	t.Helper()
	for fn, w := range want {
		var recs []map[string]string
		var err error
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
			require.NoError(t, be.Flush(ctx))
			recs, err = be.Logs(ctx, `service.name:="`+fn+`" aws.lambda.telemetry.type:="function"`)
			require.NoError(t, err)
			if len(recs) >= w.lines || time.Now().After(deadline) {
				break
			}
		}
		assert.Len(t, recs, w.lines, "%s: function lines in VictoriaLogs vs lines Lambda delivered", fn)
		parsed := 0
		for _, r := range recs {
			if r["event"] != "" {
				parsed++
			}
		}
		assert.Equal(t, w.eventLines, parsed, "%s: JSON lines with an event, parsed at the gateway", fn)
	}
}
