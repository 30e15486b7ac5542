package lambdatelemetryreceiver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/metadata"
)

// sinks are the three pipelines' ends.
type sinks struct {
	logs    consumertest.LogsSink
	traces  consumertest.TracesSink
	metrics consumertest.MetricsSink
}

// harness runs the receiver in-process against the project's Lambda emulator.
type harness struct {
	emu    *lambdaemu.Emulator
	sinks  *sinks
	rcv    *lambdaReceiver
	comps  []component.Component
	exited chan struct{}
	exitAt time.Time
	drains *lambdalifecycle.Registry

	mu     sync.Mutex
	frozen []freezeSnapshot
}

// freezeSnapshot is what the backend had when the environment froze.
type freezeSnapshot struct {
	serverSpans map[string]ptrace.Span // by faas.invocation_id
	logsByReq   map[string]int
	logTraceIDs map[string]map[string]bool
}

// startHarness starts the emulator and the receiver; env, when given, may add
// to the environment the receiver sees.
func startHarness(t *testing.T, emuCfg lambdaemu.Config, tweak func(*Config), env ...func(*lambdaemu.Emulator, map[string]string)) *harness {
	t.Helper()
	h := &harness{sinks: &sinks{}, exited: make(chan struct{}), drains: &lambdalifecycle.Registry{}}
	emuCfg.Extensions = 1
	emuCfg.OnFreeze = h.snapshot
	emu, err := lambdaemu.Start(emuCfg)
	require.NoError(t, err)
	h.emu = emu
	t.Cleanup(func() { _ = emu.Close() })

	vars := map[string]string{}
	for _, kv := range emu.Env() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for _, add := range env {
		add(emu, vars)
	}
	var once sync.Once
	f := NewFactory(
		WithEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }),
		WithExit(func() { once.Do(func() { h.exitAt = time.Now(); close(h.exited) }) }),
		WithDrains(h.drains),
	)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoint = "127.0.0.1:0"
	// The tests of what is exported before each freeze need every flush to
	// block; the non-blocking strategies have tests of their own.
	cfg.Flush.Strategy = StrategyEnd
	if tweak != nil {
		tweak(cfg)
	}
	set := receivertest.NewNopSettings(metadata.Type)
	lr, err := f.CreateLogs(context.Background(), set, cfg, &h.sinks.logs)
	require.NoError(t, err)
	tr, err := f.CreateTraces(context.Background(), set, cfg, &h.sinks.traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, &h.sinks.metrics)
	require.NoError(t, err)
	h.comps = []component.Component{lr, tr, mr}
	for _, c := range h.comps {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	h.rcv = lr.(interface{ Unwrap() *lambdaReceiver }).Unwrap()
	t.Cleanup(func() {
		for _, c := range h.comps {
			assert.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return h
}

func (h *harness) snapshot() {
	snap := freezeSnapshot{serverSpans: map[string]ptrace.Span{}}
	for _, td := range h.sinks.traces.AllTraces() {
		forEachSpan(td, func(s ptrace.Span) {
			if s.Kind() == ptrace.SpanKindServer {
				id, _ := s.Attributes().Get("faas.invocation_id")
				snap.serverSpans[id.Str()] = s
			}
		})
	}
	snap.logsByReq, snap.logTraceIDs = logsByInvocation(h.sinks.logs.AllLogs())
	h.mu.Lock()
	h.frozen = append(h.frozen, snap)
	h.mu.Unlock()
}

func (h *harness) lastFreeze() freezeSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.frozen[len(h.frozen)-1]
}

func forEachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	for i := range td.ResourceSpans().Len() {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := range sss.Len() {
			for k := range sss.At(j).Spans().Len() {
				fn(sss.At(j).Spans().At(k))
			}
		}
	}
}

// lastValue returns the newest data point of a cumulative sum.
func lastValue(t *testing.T, sink *consumertest.MetricsSink, name string) (float64, bool) {
	t.Helper()
	var v float64
	found := false
	for _, md := range sink.AllMetrics() {
		rms := md.ResourceMetrics()
		for i := range rms.Len() {
			sms := rms.At(i).ScopeMetrics()
			for j := range sms.Len() {
				ms := sms.At(j).Metrics()
				for k := range ms.Len() {
					m := ms.At(k)
					if m.Name() != name {
						continue
					}
					found = true
					switch m.Type() {
					case pmetric.MetricTypeSum:
						dp := m.Sum().DataPoints().At(0)
						v = dp.DoubleValue() + float64(dp.IntValue())
					case pmetric.MetricTypeHistogram:
						v = float64(m.Histogram().DataPoints().At(0).Count())
					case pmetric.MetricTypeGauge:
						v = m.Gauge().DataPoints().At(0).DoubleValue()
					}
				}
			}
		}
	}
	return v, found
}

type handlerError struct{ typ string }

func (e handlerError) Error() string     { return "inference failed" }
func (e handlerError) ErrorType() string { return e.typ }

func sentiment(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
	inv.Log("start " + string(inv.Payload))
	inv.Log("scoring " + string(inv.Payload))
	if string(inv.Payload) == "fail" {
		return nil, handlerError{"Inference.BadInput"}
	}
	return []byte(`{"label":"positive"}`), nil
}

func TestLifecycleOnEmulator(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{FunctionName: "sentiment", MemoryMB: 512, MemoryUsedMB: 100}, nil)
	ctx := context.Background()
	h.emu.RunRuntime(ctx, sentiment)

	payloads := []string{"great", "fail", "fine"}
	var results []lambdaemu.InvokeResult
	for i, p := range payloads {
		header := fmt.Sprintf("Root=1-6745a00%d-0123456789abcdef0123456%d;Parent=11111111111111%02d;Sampled=1", i, i, i)
		res, err := h.emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(p), TraceHeader: header})
		require.NoError(t, err)
		results = append(results, res)

		// When the environment froze, the backend already had this invocation:
		// its server span, with the X-Ray trace id, and all its log lines,
		// carrying that trace id and no other.
		snap := h.lastFreeze()
		span, ok := snap.serverSpans[res.RequestID]
		require.True(t, ok, "invocation %d: no server span exported before the freeze", i)
		wantTrace := fmt.Sprintf("6745a00%d0123456789abcdef0123456%d", i, i)
		assert.Equal(t, wantTrace, span.TraceID().String())
		// The runtime's header names the invocation span (Lambda's segment for
		// the function) as Parent; the span's own parent is the caller's.
		_, runtimeParent, _ := strings.Cut(res.TraceHeader, "Parent=")
		assert.Equal(t, runtimeParent[:16], span.SpanID().String())
		assert.Equal(t, fmt.Sprintf("11111111111111%02d", i), span.ParentSpanID().String())
		assert.Equal(t, 2, snap.logsByReq[res.RequestID], "invocation %d: log lines exported before the freeze", i)
		assert.Equal(t, map[string]bool{wantTrace: true}, snap.logTraceIDs[res.RequestID])
		coldStart, _ := span.Attributes().Get("faas.coldstart")
		assert.Equal(t, i == 0, coldStart.Bool())
		if p == "fail" {
			assert.Equal(t, ptrace.StatusCodeError, span.Status().Code())
			et, _ := span.Attributes().Get("error.type")
			assert.Equal(t, "Inference.BadInput", et.Str())
		}
	}
	assert.Empty(t, lambdaemu.ActivityWhileFrozen(h.emu.Events()), "nothing may run while frozen")

	res, err := h.emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	// In-process, "finished" is the receiver asking the collector to stop
	// (a real process then exits: the whole-binary tests check that).
	select {
	case <-h.exited:
		assert.True(t, h.exitAt.Before(res.Deadline), "the collector was stopped after the SHUTDOWN deadline")
	default:
		t.Fatal("the receiver did not stop the collector after SHUTDOWN")
	}

	// Platform metrics, exact: three invocations, one error, one cold start, and
	// every platform.report (the last one only arrives during SHUTDOWN).
	for name, want := range map[string]float64{
		"faas.invocations":                 3,
		"faas.errors":                      1,
		"faas.coldstarts":                  1,
		"faas.invoke_duration":             3,
		"faas.mem_usage":                   3,
		"faas.init_duration":               1,
		"aws.lambda.post_runtime_duration": 3,
		"aws.lambda.memory.utilization":    100.0 / 512,
	} {
		got, ok := lastValue(t, &h.sinks.metrics, name)
		require.True(t, ok, "metric %s missing", name)
		assert.InDelta(t, want, got, 1e-9, name)
	}
	_, timeouts := lastValue(t, &h.sinks.metrics, "faas.timeouts")
	assert.False(t, timeouts, "no invocation timed out")
	assert.Len(t, results, 3)
}

func TestSchemaFallback(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{Telemetry: lambdaemu.TelemetryConfig{RefuseSchemaVersions: []string{"2025-01-29"}}}, nil)
	h.emu.RunRuntime(context.Background(), sentiment)
	res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	_, ok := h.lastFreeze().serverSpans[res.RequestID]
	assert.True(t, ok, "telemetry flows after falling back to 2022-12-13")
}

func TestMalformedBatchRejectedAndCounted(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{}, nil)
	url := "http://" + h.rcv.addr.String() + "/"
	for body, want := range map[string]string{
		`{"not":"an array"}`:                            "malformed telemetry batch: json: cannot unmarshal object",
		`[{"time":"2026-11-25T10:00:00Z","record":{}}]`: "malformed telemetry batch: event 0 has no type",
		"\x00garbage\xff":                               "malformed telemetry batch: invalid character",
	} {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		assert.Contains(t, string(msg), want)
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(`[{"time":"2026-11-25T10:00:00Z","type":"platform.future","record":{"x":1}}]`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	h.emu.RunRuntime(context.Background(), sentiment)
	_, err = h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	got, ok := lastValue(t, &h.sinks.metrics, "otelcol.lambdatelemetry.rejected_batches")
	require.True(t, ok)
	assert.Equal(t, 3.0, got)
	found := false
	for _, ld := range h.sinks.logs.AllLogs() {
		for i := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len() {
			lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i)
			if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() == "platform.future" {
				found = true
			}
		}
	}
	assert.True(t, found, "an unknown event type is kept as a log")
}

// A delivery above max_request_body_size is answered 413 with the limit in
// the message, whether its length is declared or not, and counted; a client
// that writes its whole body before reading (a raw connection here) still
// gets the answer rather than a reset. Nothing else is lost.
func TestOversizedDeliveryRefusedAndCounted(t *testing.T) {
	const limit = 1 << 20
	h := startHarness(t, lambdaemu.Config{}, func(c *Config) { c.MaxRequestBodySize = limit })
	url := "http://" + h.rcv.addr.String() + "/"
	wantMsg := "exceeds max_request_body_size (1048576 bytes)"

	resp, err := http.Post(url, "application/json", bytes.NewReader(make([]byte, limit+1)))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, string(msg), "request body of 1048577 bytes "+wantMsg)

	// No Content-Length: chunked, cut at the limit.
	resp, err = http.Post(url, "application/json", io.MultiReader(strings.NewReader("["), bytes.NewReader(make([]byte, 2*limit))))
	require.NoError(t, err)
	msg, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, string(msg), "request body "+wantMsg)

	conn, err := net.Dial("tcp", h.rcv.addr.String())
	require.NoError(t, err)
	defer conn.Close()
	body := make([]byte, 10*limit)
	_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	require.NoError(t, err)
	_, err = conn.Write(body)
	require.NoError(t, err, "the listener reads the refused body rather than resetting the connection")
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	msg, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, string(msg), wantMsg)

	// A client that asks for 100-continue gets the answer before it sends
	// a byte of the body.
	conn2, err := net.Dial("tcp", h.rcv.addr.String())
	require.NoError(t, err)
	defer conn2.Close()
	_, err = fmt.Fprintf(conn2, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", 10*limit)
	require.NoError(t, err)
	resp, err = http.ReadResponse(bufio.NewReader(conn2), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	h.emu.RunRuntime(context.Background(), sentiment)
	res, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
	require.NoError(t, err)
	_, ok := h.lastFreeze().serverSpans[res.RequestID]
	assert.True(t, ok, "the invocation's telemetry still arrives")
	got, ok := lastValue(t, &h.sinks.metrics, "otelcol.lambdatelemetry.oversized_batches")
	require.True(t, ok)
	assert.Equal(t, 4.0, got)
	_, ok = lastValue(t, &h.sinks.metrics, "otelcol.lambdatelemetry.rejected_batches")
	assert.False(t, ok, "an oversized delivery is not counted as malformed")
}

// A drain hook registered by a buffering component runs before every /next.
func TestDrainHooksRunBeforeFreeze(t *testing.T) {
	h := startHarness(t, lambdaemu.Config{}, nil)
	var mu sync.Mutex
	var frozenAtDrain []bool
	unregister := h.drains.Register("probe", lambdalifecycle.StageBuffer, func(context.Context, lambdalifecycle.Mode) error {
		mu.Lock()
		defer mu.Unlock()
		frozenAtDrain = append(frozenAtDrain, h.emu.Frozen())
		return nil
	})
	defer unregister()
	h.emu.RunRuntime(context.Background(), sentiment)
	for range 2 {
		_, err := h.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte("ok")})
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []bool{false, false}, frozenAtDrain)
}

func TestStartOutsideLambda(t *testing.T) {
	f := NewFactory(WithEnv(func(string) (string, bool) { return "", false }))
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "AWS_LAMBDA_RUNTIME_API is not set")
	require.NoError(t, r.Shutdown(context.Background()))
}

var _ receiver.Factory = NewFactory()
