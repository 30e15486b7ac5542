package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// hostileRequest is one request of the storm and the answer it must get.
type hostileRequest struct {
	name, url, contentType string
	body                   []byte
	status                 int
	message                string // in the answer's body
}

// The sizes: a 30 MB OTLP POST and a 10 MB Telemetry API delivery.
// Garbage stays under the listeners' limits (4 MiB), so it is read and parsed.
func hostileRequests(otlpHTTP, telemetry string) []hostileRequest {
	garbage := bytes.Repeat([]byte("garbage!"), 3<<20/8)
	return []hostileRequest{
		// The shipped config's bodylimit extension answers 413 (the stock
		// OTLP receiver alone would answer 400), a google.rpc.Status.
		{name: "OTLP oversized", url: "http://" + otlpHTTP + "/v1/traces", contentType: "application/x-protobuf",
			body: bytes.Repeat([]byte{0x0a}, 30<<20), status: http.StatusRequestEntityTooLarge,
			message: "request body of 31457280 bytes exceeds max_request_body_size (4194304 bytes)"},
		{name: "OTLP garbage protobuf", url: "http://" + otlpHTTP + "/v1/traces", contentType: "application/x-protobuf",
			body: garbage, status: http.StatusBadRequest, message: "proto: illegal wireType 7"},
		{name: "OTLP garbage JSON", url: "http://" + otlpHTTP + "/v1/logs", contentType: "application/json",
			body: garbage, status: http.StatusBadRequest, message: "ReadObject"},
		{name: "Telemetry oversized", url: "http://" + telemetry + "/", contentType: "application/json",
			body: bytes.Repeat([]byte("["), 10<<20), status: http.StatusRequestEntityTooLarge,
			message: "request body of 10485760 bytes exceeds max_request_body_size (4194304 bytes)"},
		{name: "Telemetry garbage", url: "http://" + telemetry + "/", contentType: "application/json",
			body: garbage, status: http.StatusBadRequest, message: "malformed telemetry batch: invalid character 'g'"},
	}
}

// send posts r and reports how the answer differs from the expected one ("" if not).
func (r hostileRequest) send(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", r.contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Sprintf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != r.status || !bytes.Contains(msg, []byte(r.message)) {
		return fmt.Sprintf("%s: got %d %q, want %d with %q", r.name, resp.StatusCode, msg, r.status, r.message)
	}
	return ""
}

// Oversized and garbage requests on both listeners, sent by the function
// during its invocations (the environment is thawed then), through the
// layer's launcher and the shipped config: each gets its answer with a clear
// message; the refusals of both listeners are counted in the metrics
// exported with the data; invocations after the storm still reach the
// backend; and the collector's RSS comes back near its baseline. The bound
// is on memory, read from /proc while the environment is frozen, after at
// most a few invocations (never a time).
func TestHostileInputBoundedMemory(t *testing.T) {
	const (
		stormRounds = 3
		// Margin over the baseline RSS: the collector's heap wanders by a
		// few MiB from one freeze to the next (BENCHMARKS.md).
		rssMargin = 8 << 20
		// Normal invocations after the storm within which RSS must return.
		recoveryInvocations = 10
	)
	be := startBackend(t)
	otlpHTTP, telemetry := freeAddr(t), freeAddr(t)
	fn := samplefunction.New("http://"+otlpHTTP, 10*time.Millisecond)
	defer fn.Close()
	storm := hostileRequests(otlpHTTP, telemetry)
	var mu sync.Mutex
	var failures []string
	handler := func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		if string(inv.Payload) != `{"action":"storm"}` {
			return fn.Handle(ctx, inv)
		}
		for range stormRounds {
			for _, r := range storm {
				if f := r.send(ctx); f != "" {
					mu.Lock()
					failures = append(failures, f)
					mu.Unlock()
				}
			}
		}
		return []byte(`"stormed"`), nil
	}
	args := append(loopback.CollectorArgs(repoFile("collector-config.yaml"), otlpHTTP, freeAddr(t)),
		"--config=yaml:receivers::lambdatelemetry::endpoint: "+telemetry)
	r := startLauncher(t, args, []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, handler)
	require.NoError(t, r.waitInit(t), r.out.String())
	collector := r.collectorChild(t)

	// Baseline: after warm-up invocations, frozen.
	r.invoke(t, 5)
	baseline := lambdaemu.RSS(collector)
	require.Positive(t, baseline)

	res, err := r.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte(`{"action":"storm"}`)})
	require.NoError(t, err, r.out.String())
	require.Equal(t, "success", res.Status, r.out.String())
	mu.Lock()
	assert.Empty(t, failures, "every hostile request gets its answer")
	mu.Unlock()
	afterStorm := lambdaemu.RSS(collector)

	var after []lambdaemu.InvokeResult
	recovered := afterStorm
	for len(after) < recoveryInvocations && recovered > baseline+rssMargin {
		after = append(after, r.invoke(t, 1)...)
		recovered = lambdaemu.RSS(collector)
	}
	t.Logf("collector RSS: baseline %.1f MiB, after the storm %.1f MiB, after %d more invocations %.1f MiB",
		mib(baseline), mib(afterStorm), len(after), mib(recovered))
	assert.LessOrEqual(t, recovered, baseline+rssMargin,
		"RSS back within %.0f MiB of its baseline after %d invocations", mib(rssMargin), recoveryInvocations)

	after = append(after, r.invoke(t, 1)...)
	r.shutdown(t)
	s := be.snapshot()
	for _, res := range after {
		want, _ := samplefunction.XRay(res.TraceHeader)
		assert.Equal(t, want.String(), s.functionTrace[res.RequestID], "the function's span of %s, after the storm", res.RequestID)
	}
	for name, want := range map[string]int64{
		"otelcol.lambdatelemetry.oversized_batches": stormRounds,
		"otelcol.lambdatelemetry.rejected_batches":  stormRounds,
		"otelcol.bodylimit.refused_requests":        stormRounds,
	} {
		got, ok := be.lastSum(name)
		assert.True(t, ok, "%s exported", name)
		assert.Equal(t, want, got, name)
	}
	assert.Empty(t, r.errorLines())
	assert.NotContains(t, r.out.String(), "panic")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
