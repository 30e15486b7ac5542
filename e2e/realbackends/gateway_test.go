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

// produced is what the functions wrote, per function: inference_success
// lines and the sum of their duration_ms, function lines, and of those the
// JSON ones with an event field.
type produced struct {
	successes, lines, eventLines int
	durationSum                  float64
}

// TestGatewayScaleOutRealBackends runs the whole path on loopback: three
// functions, each in environments of the layer's extension (shipped
// config, OTELCOL_LAMBDA_LOG_PROCESSORS=[]: the gateway parses) under the
// emulator, export to a front gateway (config-front.yaml: loadbalancing by
// service.name, queue on) → two replicas (config.yaml) → VictoriaMetrics,
// VictoriaLogs and Jaeger. Each replica's metrics carry its number and
// incarnation as labels (VictoriaMetrics' extra_label). Per function, the
// inference_duration_ms histogram's count and sum in VictoriaMetrics equal
// what the functions logged, every series of a function has one writer,
// and VictoriaLogs holds every function line, parsed. Then the replica
// serving the first function stops, one more environment per function runs
// (the front tier queues that replica's share), the replica starts again on
// the same address as a new incarnation, and the totals are still exact.
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
	writers := awaitHistograms(t, ctx, be, want)
	awaitLogs(t, ctx, be, want)
	t.Logf("replicas by function: %v", writers)

	// Restart the replica that serves fn-a: its functions' data waits in the
	// front tier's queue meanwhile.
	r := writers["fn-a"]
	replicas[r].Stop()
	runEnvironments(1)
	replicas[r].Args = append(replicas[r].Args[:1], replicaArgs(r, 2)...)
	replicas[r].Start()
	after := awaitHistograms(t, ctx, be, want)
	assert.Equal(t, writers, after, "a function stays on its replica across the restart")
	awaitLogs(t, ctx, be, want)
	assert.NotContains(t, strings.ToLower(out.String()+front.String()+replicas[0].String()+replicas[1].String()), "panic")
}

// awaitHistograms waits (up to 2 minutes) until VictoriaMetrics holds, per
// function, an inference_duration_ms histogram with exactly want's count
// and sum: the newest value of every series, each incarnation of a replica
// its own series (a restarted replica starts new cumulative series), summed.
// It checks that all series of a function came from one replica, and
// returns that replica by function.
func awaitHistograms(t *testing.T, ctx context.Context, be *Backends, want map[string]*produced) map[string]int {
	t.Helper()
	type histogram struct {
		count, sum float64
		replicas   map[string]bool
	}
	read := func() (map[string]*histogram, error) {
		got := map[string]*histogram{}
		for _, part := range []string{"count", "sum"} {
			// last_over_time: a stopped incarnation's series are stale for
			// an instant query within seconds, but still count.
			series, err := be.Query(ctx, "last_over_time(inference_duration_ms_"+part+"[1h])")
			if err != nil {
				return nil, err
			}
			for _, s := range series {
				fn := s.Labels["service.name"]
				h := got[fn]
				if h == nil {
					h = &histogram{replicas: map[string]bool{}}
					got[fn] = h
				}
				h.replicas[s.Labels["gateway_replica"]] = true
				if part == "count" {
					h.count += s.Value
				} else {
					h.sum += s.Value
				}
			}
		}
		return got, nil
	}
	done := func(got map[string]*histogram) bool {
		if len(got) != len(want) {
			return false
		}
		for fn, w := range want {
			h := got[fn]
			if h == nil || h.count != float64(w.successes) || !closeTo(h.sum, w.durationSum) {
				return false
			}
		}
		return true
	}
	var got map[string]*histogram
	var err error
	deadline := time.Now().Add(2 * time.Minute)
	for {
		require.NoError(t, be.Flush(ctx))
		got, err = read()
		require.NoError(t, err)
		if done(got) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	writers := map[string]int{}
	for fn, w := range want {
		h := got[fn]
		require.NotNil(t, h, "%s: no inference_duration_ms in VictoriaMetrics", fn)
		assert.Equal(t, float64(w.successes), h.count, "%s: histogram count vs inference_success lines", fn)
		assert.True(t, closeTo(h.sum, w.durationSum), "%s: histogram sum %v vs the lines' duration_ms %v", fn, h.sum, w.durationSum)
		require.Len(t, h.replicas, 1, "%s: every series of the function from one replica, got %v", fn, slices.Collect(maps.Keys(h.replicas)))
		for r := range h.replicas {
			n, err := strconv.Atoi(r)
			require.NoError(t, err, "gateway_replica %q", r)
			writers[fn] = n
		}
	}
	return writers
}

// closeTo compares sums of the same float64 values added in another order.
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
		deadline := time.Now().Add(2 * time.Minute)
		for {
			require.NoError(t, be.Flush(ctx))
			recs, err = be.Logs(ctx, `service.name:="`+fn+`" aws.lambda.telemetry.type:="function"`)
			require.NoError(t, err)
			if len(recs) >= w.lines || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
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
