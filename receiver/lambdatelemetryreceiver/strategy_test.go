package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// extensionCalledNext reports whether the extension asked for its next event
// after the INVOKE of requestID reached it, i.e. did not wait for the end of
// the invocation.
func extensionCalledNext(emu *lambdaemu.Emulator, requestID string) bool {
	invoked := false
	for _, e := range emu.Events() {
		switch {
		case e.Kind == lambdaemu.EventLifecycle && e.Detail == "invoke "+requestID:
			invoked = true
		case invoked && e.Kind == lambdaemu.EventAPI && e.Party != "runtime" && strings.HasSuffix(e.Detail, "/extension/event/next"):
			return true
		}
	}
	return false
}

// logsByInvocation counts the function log lines the sink got, by
// faas.invocation_id, and the trace ids they carry.
func logsByInvocation(sink []plog.Logs) (map[string]int, map[string]map[string]bool) {
	n, traces := map[string]int{}, map[string]map[string]bool{}
	for _, ld := range sink {
		forEachRecord(ld, func(lr plog.LogRecord) {
			if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() != "function" {
				return
			}
			id, _ := lr.Attributes().Get("faas.invocation_id")
			n[id.Str()]++
			if traces[id.Str()] == nil {
				traces[id.Str()] = map[string]bool{}
			}
			traces[id.Str()][lr.TraceID().String()] = true
		})
	}
	return n, traces
}

// In a non-blocking strategy the extension returns to /event/next while the
// function still runs; the tail of each invocation (its last lines and
// runtimeDone) is delivered after the next thaw and still lands on its own
// invocation, once.
func TestNonBlockingStrategies(t *testing.T) {
	for _, strategy := range []Strategy{StrategyContinuous, StrategyPeriodic, StrategyAdaptive} {
		t.Run(string(strategy), func(t *testing.T) {
			var h *harness
			h = startHarness(t, lambdaemu.Config{FunctionName: "fn"}, func(c *Config) { c.Flush.Strategy = strategy })
			h.emu.RunRuntime(context.Background(), func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
				inv.Log("first " + inv.RequestID)
				// Wait (bounded) for the extension to call next during the
				// invocation; only a non-blocking flush does.
				response := "blocked"
				for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if extensionCalledNext(h.emu, inv.RequestID) {
						response = "non-blocking"
						break
					}
				}
				inv.Log("last " + inv.RequestID)
				return []byte(response), nil
			})
			const invocations = 6
			var ids []string
			for i := range invocations {
				header := fmt.Sprintf("Root=1-6745a00%d-0123456789abcdef0123456%d;Parent=11111111111111%02d;Sampled=1", i, i, i)
				res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("x"), TraceHeader: header})
				require.NoError(t, err)
				want := "non-blocking"
				if strategy == StrategyAdaptive && i <= 1 {
					want = "blocked" // the first invocations after a cold start
				}
				assert.Equal(t, want, string(res.Response), "invocation %d", i)
				ids = append(ids, res.RequestID)
			}
			assert.Empty(t, lambdaemu.ActivityWhileFrozen(h.emu.Events()), "nothing may run while frozen")
			_, err := h.emu.Shutdown(context.Background(), "spindown")
			require.NoError(t, err)
			<-h.exited

			lines, traces := logsByInvocation(h.sinks.logs.AllLogs())
			spans := map[string]int{}
			for _, td := range h.sinks.traces.AllTraces() {
				forEachSpan(td, func(s ptrace.Span) {
					if s.Kind() == ptrace.SpanKindServer {
						id, _ := s.Attributes().Get("faas.invocation_id")
						spans[id.Str()]++
					}
				})
			}
			for _, id := range ids {
				assert.Equal(t, 2, lines[id], "invocation %s: both lines, once", id)
				assert.Len(t, traces[id], 1, "invocation %s: its lines carry one trace id", id)
				assert.Equal(t, 1, spans[id], "invocation %s: one server span", id)
			}
			invocationsSeen, ok := lastValue(t, &h.sinks.metrics, "faas.invocations")
			require.True(t, ok)
			assert.Equal(t, float64(invocations), invocationsSeen)
		})
	}
}

// A batch Lambda delivers twice is translated once and its records counted.
func TestRedeliveredBatchCountedOnce(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{}, nil)
	h.emu.RunRuntime(context.Background(), sentiment)
	res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	// A line written during the invocation, delivered twice by a retrying Lambda.
	at := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	batch := `[{"time":"` + at + `","type":"function","record":"again ` + res.RequestID + `"}]`
	for range 2 {
		resp, err := http.Post("http://"+h.rcv.addr.String()+"/", "application/json", strings.NewReader(batch))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	_, err = h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	count := 0
	for _, ld := range h.sinks.logs.AllLogs() {
		forEachRecord(ld, func(lr plog.LogRecord) {
			if lr.Body().Str() == "again "+res.RequestID {
				count++
			}
		})
	}
	assert.Equal(t, 1, count)
	dup, ok := lastValue(t, &h.sinks.metrics, "otelcol.lambdatelemetry.duplicate_records")
	require.True(t, ok)
	assert.Equal(t, 1.0, dup)
}

// A collector stopped while an invocation runs (SIGTERM) still hands on
// what the receiver got, even what the periodic strategy was holding.
func TestStopDuringInvocationPushesWhatArrived(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{}, func(c *Config) { c.Flush.Strategy = StrategyPeriodic })
	release := make(chan struct{})
	defer close(release)
	h.emu.RunRuntime(context.Background(), func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		inv.Log("before the stop")
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte("ok"), nil
	})
	go func() { _, _ = h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("x")}) }()
	require.Eventually(t, func() bool {
		for _, e := range h.emu.Events() {
			if e.Kind == lambdaemu.EventDelivery && strings.Contains(e.Detail, "function") {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "the line was delivered")
	require.Eventually(t, func() bool { return h.rcv.tr.PendingLogRecords() > 0 }, 10*time.Second, 5*time.Millisecond)
	assert.Zero(t, h.sinks.logs.LogRecordCount(), "periodic holds deliveries until its interval")
	for _, c := range h.comps {
		require.NoError(t, c.Shutdown(context.Background()))
	}
	found := 0
	for _, ld := range h.sinks.logs.AllLogs() {
		forEachRecord(ld, func(lr plog.LogRecord) {
			if lr.Body().Str() == "before the stop" {
				found++
			}
		})
	}
	assert.Equal(t, 1, found)
}

// In end mode a long invocation still sends every flush.interval (the
// backstop), here seen as platform metrics arriving before it ends.
func TestBackstopDuringLongInvocation(t *testing.T) {
	var h *harness
	h = startHarness(t, lambdaemu.Config{}, func(c *Config) { c.Flush.Interval = 50 * time.Millisecond })
	h.emu.RunRuntime(context.Background(), func(context.Context, lambdaemu.Invocation) ([]byte, error) {
		for deadline := time.Now().Add(5 * time.Second); h.sinks.metrics.DataPointCount() == 0; {
			if time.Now().After(deadline) {
				return nil, errors.New("no flush during the invocation")
			}
			time.Sleep(time.Millisecond)
		}
		return []byte("ok"), nil
	})
	res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("x")})
	require.NoError(t, err)
	assert.Equal(t, "success", res.Status, "%s", res.Response)
}

func forEachRecord(ld plog.Logs, fn func(plog.LogRecord)) {
	for i := range ld.ResourceLogs().Len() {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := range sls.Len() {
			for k := range sls.At(j).LogRecords().Len() {
				fn(sls.At(j).LogRecords().At(k))
			}
		}
	}
}

// A launcher that registered at exec hands its registration over; the
// receiver then serves the lifecycle under that id without registering again.
func TestTakesOverALaunchersRegistration(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{FunctionName: "fn"}, nil, func(emu *lambdaemu.Emulator, env map[string]string) {
		c := extensionapi.New(emu.Addr())
		reg, err := c.Register(context.Background(), "launcher")
		require.NoError(t, err)
		handover, err := c.HandoverEnv(reg)
		require.NoError(t, err)
		for _, kv := range handover {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	})
	h.emu.RunRuntime(context.Background(), sentiment)
	res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	_, ok := h.lastFreeze().serverSpans[res.RequestID]
	assert.True(t, ok, "the invocation was exported under the handed-over registration")
	registrations := 0
	for _, e := range h.emu.Events() {
		if e.Kind == lambdaemu.EventAPI && strings.HasSuffix(e.Detail, "/extension/register") {
			registrations++
		}
	}
	assert.Equal(t, 1, registrations)
}
