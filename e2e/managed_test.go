package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// noRequestID is the line each invocation writes with no request id of its own.
const noRequestID = "a line with no request id"

// TestManagedInstancesWholeBinary runs the layer (launcher and collector,
// shipped config) on the emulator as Lambda Managed Instances: 8 invocations
// in flight at once, whose log lines and function spans interleave. The
// extension registers for SHUTDOWN only and learns the invocations from the
// Telemetry API. Every line lands on its own invocation's trace and span, one
// server span per invocation, the platform metrics are exact, the data leaves
// without waiting for SHUTDOWN, and SHUTDOWN loses nothing. In the text log
// format lines carry the Python runtime's prefix; the line without a request
// id written while all 8 are in flight is kept without an invocation and
// counted. In the JSON format Lambda gives every line its request id.
func TestManagedInstancesWholeBinary(t *testing.T) {
	for _, format := range []lambdaemu.LogFormat{lambdaemu.LogFormatText, lambdaemu.LogFormatJSON} {
		t.Run(string(format), func(t *testing.T) { testManagedInstances(t, format, 8) })
	}
}

func testManagedInstances(t *testing.T, format lambdaemu.LogFormat, inFlight int) {
	collector := extensionBinary(t)
	launcher := launcherBinary(t)
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	emu, err := lambdaemu.Start(lambdaemu.Config{
		FunctionName: "sentiment", MemoryMB: 2048, MemoryUsedMB: 300,
		InitializationType: lambdaemu.InitManagedInstances,
		Telemetry:          lambdaemu.TelemetryConfig{LogFormat: format},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	var out lambdaemutest.Output
	proc, err := emu.StartExtension(launcher, lambdaemu.ProcessOptions{
		Args: loopback.CollectorArgs(repoFile("collector-config.yaml"), otlpHTTP, freeAddr(t)),
		Env: []string{
			"OTELCOL_LAMBDA_COLLECTOR=" + collector, "OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint(),
			"OPENTELEMETRY_COLLECTOR_CONFIG_URI=", "OTELCOL_LAMBDA_STRICT=", "TMPDIR=" + t.TempDir(),
		},
		Output: &out,
	})
	require.NoError(t, err)

	fn := samplefunction.New("http://"+otlpHTTP, 20*time.Millisecond)
	defer fn.Close()
	var started, logged sync.WaitGroup
	started.Add(inFlight)
	logged.Add(inFlight)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range inFlight {
		emu.RunRuntime(ctx, func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
			started.Done()
			started.Wait() // all in flight
			inv.Log(noRequestID)
			logged.Done()
			logged.Wait() // still all in flight: nobody answered yet
			if format == lambdaemu.LogFormatText {
				log := inv.Log
				inv.Log = func(line string) {
					log(fmt.Sprintf("[INFO]\t%s\t%s\t%s", time.Now().UTC().Format(time.RFC3339Nano), inv.RequestID, line))
				}
			}
			return fn.Handle(ctx, inv)
		})
	}

	payloads := []string{`{"action":"normal"}`, `{"action":"slow"}`, `{"action":"fail"}`, `{}`}
	results := make([]lambdaemu.InvokeResult, inFlight)
	var wg sync.WaitGroup
	for i := range inFlight {
		wg.Go(func() {
			res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(payloads[i%len(payloads)])})
			assert.NoError(t, err, "invoke %d\n%s", i, out.String())
			results[i] = res
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	// Continuous export: the server spans reach the backend with no INVOKE
	// and no SHUTDOWN to mark time (a bounded wait, not a timed assertion).
	require.Eventually(t, func() bool { return len(be.snapshot().serverTrace) == inFlight }, 60*time.Second, 20*time.Millisecond,
		"server spans at the backend before SHUTDOWN\n%s", out.String())

	sd, err := emu.Shutdown(context.Background(), "spindown")
	require.NoError(t, err)
	assert.True(t, sd.OK(), "the extension must exit within the SHUTDOWN deadline: %+v\n%s", sd, out.String())
	<-proc.Done()
	assert.NoError(t, proc.ExitErr(), "clean exit; output:\n%s", out.String())
	assert.NotContains(t, out.String(), "panic")

	s := be.snapshot()
	serverSpans := map[string]string{}
	be.ForEachSpan(func(_ pcommon.Resource, span ptrace.Span) {
		if id, _ := span.Attributes().Get("faas.invocation_id"); span.Kind() == ptrace.SpanKindServer {
			serverSpans[id.Str()] = span.SpanID().String()
		}
	})
	failures, successes := 0, 0
	for i, res := range results {
		want, _ := samplefunction.XRay(res.TraceHeader)
		assert.Equal(t, want.String(), s.serverTrace[res.RequestID], "invocation %d: server span", i)
		assert.Equal(t, want.String(), s.functionTrace[res.RequestID], "invocation %d: the function's own span", i)
		assert.Equal(t, map[string]bool{want.String(): true}, s.logTraces[res.RequestID], "invocation %d: log trace ids", i)
		// The function's lines name its own span; in the JSON format the
		// id-less line is the invocation's, on its server span.
		wantSpans := map[string]bool{s.functionSpan[res.RequestID]: true}
		if format == lambdaemu.LogFormatJSON {
			wantSpans[serverSpans[res.RequestID]] = true
		}
		assert.Equal(t, wantSpans, s.logSpans[res.RequestID], "invocation %d: log span ids", i)
		if res.Status == "success" {
			successes++
		} else {
			failures++
		}
	}
	// The function's two lines per invocation, and the id-less ones.
	idless := idlessLines(be)
	wantIdless := map[string]int{"": inFlight}
	if format == lambdaemu.LogFormatJSON {
		wantIdless = map[string]int{}
		for _, res := range results {
			wantIdless[res.RequestID] = 1
		}
	}
	assert.Equal(t, wantIdless, idless, "the lines without a request id, by invocation")
	for _, res := range results {
		assert.Equal(t, 2+wantIdless[res.RequestID], s.logLines[res.RequestID], "lines of %s", res.RequestID)
	}
	assert.Len(t, s.serverTrace, inFlight, "one server span per invocation")

	// Exact platform metrics, from the emulator's own records.
	var billedMs float64
	for _, env := range emu.Records() {
		if env.Type == "platform.report" {
			var r struct {
				Metrics struct {
					BilledDurationMs float64 `json:"billedDurationMs"`
				} `json:"metrics"`
			}
			require.NoError(t, json.Unmarshal(env.Record, &r))
			billedMs += r.Metrics.BilledDurationMs
		}
	}
	unattributed := float64(inFlight)
	if format == lambdaemu.LogFormatJSON {
		unattributed = 0
	}
	for name, want := range map[string]float64{
		"faas.invocations":                             float64(inFlight),
		"faas.errors":                                  float64(failures),
		"faas.invoke_duration":                         float64(inFlight),
		"faas.mem_usage":                               float64(inFlight),
		"aws.lambda.billed_duration":                   billedMs / 1e3,
		"otelcol.lambdatelemetry.unattributed_records": unattributed,
		"inference_duration_ms":                        float64(successes),
	} {
		got, ok := be.LastValue(name, nil)
		require.True(t, ok, "metric %s exported", name)
		assert.InDelta(t, want, got, 1e-9, name)
	}
	assert.Equal(t, float64(inFlight), gaugeMax(be, "aws.lambda.invocations_in_flight"), "all in flight at once")
	_, coldStarts := be.LastValue("faas.coldstarts", nil)
	assert.False(t, coldStarts, "a managed instance's init runs ahead of any request")
}

// idlessLines counts the noRequestID lines by the invocation they were given.
func idlessLines(be backend) map[string]int {
	out := map[string]int{}
	be.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) {
		if lr.Body().Type() == pcommon.ValueTypeStr && lr.Body().Str() == noRequestID {
			id, _ := lr.Attributes().Get("faas.invocation_id")
			out[id.Str()]++
		}
	})
	return out
}

// gaugeMax is the largest point of a gauge the backend got.
func gaugeMax(be backend, name string) float64 {
	var most float64
	be.ForEachMetric(func(_ pcommon.Resource, m pmetric.Metric) {
		if m.Name() != name || m.Type() != pmetric.MetricTypeGauge {
			return
		}
		for i := range m.Gauge().DataPoints().Len() {
			most = max(most, m.Gauge().DataPoints().At(i).DoubleValue())
		}
	})
	return most
}
