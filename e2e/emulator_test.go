package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// seen is what the backend held at one moment, by invocation.
type seen struct {
	serverTrace   map[string]string          // request id -> trace id of its server span
	functionTrace map[string]string          // request id -> trace id of the function's own span
	functionSpan  map[string]string          // request id -> span id of the function's own span
	logTraces     map[string]map[string]bool // request id -> trace ids on its function log lines
	logSpans      map[string]map[string]bool // request id -> span ids on its function log lines
	logLines      map[string]int
}

func (b backend) snapshot() seen {
	s := seen{
		serverTrace: map[string]string{}, functionTrace: map[string]string{}, functionSpan: map[string]string{},
		logTraces: map[string]map[string]bool{}, logSpans: map[string]map[string]bool{}, logLines: map[string]int{},
	}
	b.ForEachSpan(func(_ pcommon.Resource, span ptrace.Span) {
		id, _ := span.Attributes().Get("faas.invocation_id")
		switch {
		case span.Kind() == ptrace.SpanKindServer:
			s.serverTrace[id.Str()] = span.TraceID().String()
		case span.Name() == samplefunction.SpanName:
			s.functionTrace[id.Str()] = span.TraceID().String()
			s.functionSpan[id.Str()] = span.SpanID().String()
		}
	})
	b.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) {
		if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() != "function" {
			return
		}
		id, _ := lr.Attributes().Get("faas.invocation_id")
		s.logLines[id.Str()]++
		if s.logTraces[id.Str()] == nil {
			s.logTraces[id.Str()], s.logSpans[id.Str()] = map[string]bool{}, map[string]bool{}
		}
		s.logTraces[id.Str()][lr.TraceID().String()] = true
		s.logSpans[id.Str()][lr.SpanID().String()] = true
	})
	return s
}

// TestWholeBinaryOnEmulator runs the OCB-built distribution with the shipped
// config as an extension process of the project's Lambda emulator: SIGSTOPped
// whenever the environment is frozen, as Lambda does. In both log formats the
// function's JSON log lines end up on the function's own span.
func TestWholeBinaryOnEmulator(t *testing.T) {
	for _, format := range []lambdaemu.LogFormat{lambdaemu.LogFormatText, lambdaemu.LogFormatJSON} {
		t.Run(string(format), func(t *testing.T) { testWholeBinaryOnEmulator(t, format) })
	}
}

func testWholeBinaryOnEmulator(t *testing.T, format lambdaemu.LogFormat) {
	bin := extensionBinary(t)
	be := startBackend(t)
	otlpHTTP := freeAddr(t)

	var mu sync.Mutex
	var frozen []seen
	emu, err := lambdaemu.Start(lambdaemu.Config{
		FunctionName: "sentiment",
		MemoryMB:     256,
		Telemetry:    lambdaemu.TelemetryConfig{LogFormat: format},
		OnFreeze: func() {
			s := be.snapshot()
			mu.Lock()
			frozen = append(frozen, s)
			mu.Unlock()
		},
	})
	require.NoError(t, err)
	defer emu.Close()

	var out lambdaemutest.Output
	proc, err := emu.StartExtension(bin, lambdaemu.ProcessOptions{
		Args: loopback.CollectorArgs(repoFile("collector-config.yaml"), otlpHTTP, freeAddr(t)),
		// Every invocation's data at the backend before its freeze is what
		// the blocking strategy promises; the others are tested in spool_test.go.
		Env:    []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint(), "TMPDIR=" + t.TempDir(), "OTELCOL_LAMBDA_FLUSH_STRATEGY=end"},
		Output: &out,
		Freeze: true,
	})
	require.NoError(t, err)

	fn := samplefunction.New("http://"+otlpHTTP, 50*time.Millisecond)
	defer fn.Close()
	emu.RunRuntime(context.Background(), fn.Handle)

	ctx := context.Background()
	payloads := []string{`{"action":"normal"}`, `{"action":"slow"}`, `{"action":"fail"}`, `{}`}
	for i, p := range payloads {
		res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(p)})
		require.NoError(t, err, "invoke %d; extension output:\n%s", i, out.String())
		want, _ := samplefunction.XRay(res.TraceHeader)
		mu.Lock()
		s := frozen[len(frozen)-1]
		mu.Unlock()
		// Everything of the invocation reached the backend before the freeze.
		assert.Equal(t, want.String(), s.serverTrace[res.RequestID], "invocation %d: server span", i)
		assert.Equal(t, want.String(), s.functionTrace[res.RequestID], "invocation %d: the function's own span", i)
		assert.Equal(t, 2, s.logLines[res.RequestID], "invocation %d: log lines", i)
		assert.Equal(t, map[string]bool{want.String(): true}, s.logTraces[res.RequestID], "invocation %d: log trace ids", i)
		assert.Equal(t, map[string]bool{s.functionSpan[res.RequestID]: true}, s.logSpans[res.RequestID], "invocation %d: log span ids", i)
	}
	assert.Empty(t, lambdaemu.ActivityWhileFrozen(emu.Events()))

	res, err := emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	assert.True(t, res.OK(), "the extension must exit within the SHUTDOWN deadline: %+v\n%s", res, out.String())
	<-proc.Done()
	successes, ok := be.lastSum("inference_duration_ms")
	require.True(t, ok, "inference_duration_ms exported")
	assert.Equal(t, int64(len(payloads)-1), successes, "one observation per successful inference")
	invocations, _ := be.lastSum("faas.invocations")
	assert.Equal(t, int64(len(payloads)), invocations)
	assert.NoError(t, proc.ExitErr(), "clean exit; output:\n%s", out.String())
	assert.NotContains(t, out.String(), "panic")
}
