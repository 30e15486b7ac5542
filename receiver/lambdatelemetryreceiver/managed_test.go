package lambdatelemetryreceiver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// Lambda Managed Instances, in-process: the receiver registers for SHUTDOWN
// only (the emulator refuses INVOKE there) and learns n overlapping
// invocations from the Telemetry API alone. Their data goes downstream as it
// arrives, before any SHUTDOWN; each text line, written with the Python
// runtime's prefix while all n are in flight, lands on its own invocation;
// the one line per invocation without a request id is kept, unattributed,
// and counted; SHUTDOWN drains the rest.
func TestManagedInstancesOnEmulator(t *testing.T) {
	const n = 6
	h := startHarness(t, lambdaemu.Config{FunctionName: "fn", InitializationType: lambdaemu.InitManagedInstances, MemoryMB: 2048, MemoryUsedMB: 300},
		func(c *Config) { c.Flush.Interval = time.Hour }) // only the final emission: exact values
	ctx := context.Background()
	var started, logged sync.WaitGroup
	started.Add(n)
	logged.Add(n)
	for range n {
		h.emu.RunRuntime(ctx, func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
			started.Done()
			started.Wait() // all n in flight
			inv.Log(fmt.Sprintf("[INFO]\t%s\t%s\tfirst", time.Now().UTC().Format(time.RFC3339Nano), inv.RequestID))
			inv.Log("no request id")
			logged.Done()
			logged.Wait() // still all n in flight
			inv.Log(fmt.Sprintf("[INFO]\t%s\t%s\tlast", time.Now().UTC().Format(time.RFC3339Nano), inv.RequestID))
			return []byte("ok"), nil
		})
	}
	results := make(chan lambdaemu.InvokeResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			header := fmt.Sprintf("Root=1-6745a00%d-0123456789abcdef0123456%d;Parent=11111111111111%02d;Sampled=1", i, i, i)
			res, err := h.emu.Invoke(ctx, lambdaemu.InvokeRequest{TraceHeader: header})
			assert.NoError(t, err)
			results <- res
		})
	}
	wg.Wait()
	close(results)

	servers := func() map[string]ptrace.Span {
		out := map[string]ptrace.Span{}
		for _, td := range h.sinks.traces.AllTraces() {
			forEachSpan(td, func(s ptrace.Span) {
				if s.Kind() == ptrace.SpanKindServer {
					id, _ := s.Attributes().Get("faas.invocation_id")
					out[id.Str()] = s
				}
			})
		}
		return out
	}
	// Continuous export: everything leaves on arrival, with no INVOKE or
	// SHUTDOWN to mark time (bounded wait, no assertion on how long).
	require.Eventually(t, func() bool { return len(servers()) == n }, 30*time.Second, 10*time.Millisecond,
		"every server span downstream before SHUTDOWN")

	sd, err := h.emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	select {
	case <-h.exited:
		assert.True(t, h.exitAt.Before(sd.Deadline))
	default:
		t.Fatal("the receiver did not stop the collector after SHUTDOWN")
	}

	spans := servers()
	lines, traceIDs := logsByInvocation(h.sinks.logs.AllLogs())
	for res := range results {
		require.Equal(t, "success", res.Status)
		span, ok := spans[res.RequestID]
		require.True(t, ok, res.RequestID)
		assert.Equal(t, 2, lines[res.RequestID], "its two prefixed lines")
		assert.Equal(t, map[string]bool{span.TraceID().String(): true}, traceIDs[res.RequestID])
	}
	assert.Equal(t, n, lines[""], "the lines without a request id: kept, with no invocation")
	assert.Len(t, spans, n, "one server span per invocation")
	for name, want := range map[string]float64{
		"faas.invocations":                             n,
		"faas.invoke_duration":                         n,
		"faas.mem_usage":                               n,
		"faas.coldstarts":                              0,
		"aws.lambda.invocations_in_flight":             n,
		"otelcol.lambdatelemetry.unattributed_records": n,
	} {
		got, ok := lastValue(t, &h.sinks.metrics, name)
		if name == "faas.coldstarts" {
			assert.False(t, ok, "init ran ahead of any request: no cold start")
			continue
		}
		require.True(t, ok, "metric %s missing", name)
		assert.InDelta(t, want, got, 1e-9, name)
	}
}
