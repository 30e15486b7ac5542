package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// journal records, in order, what the function did over the network.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) index(s string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, e := range j.entries {
		if e == s {
			return i
		}
	}
	return -1
}

type invocation struct {
	id, header, traceID, payload string
}

type result struct {
	kind string // "response" or "error"
	body []byte
}

// TestBootstrapUnderRuntimeAPI builds the function as bootstrap and runs it
// against a stand-in Lambda Runtime API and a stand-in OTLP/HTTP receiver, both
// on 127.0.0.1: every invocation's inference span reaches the receiver before
// the invocation's result reaches the Runtime API, with the trace id of the
// invocation's X-Ray header, and every log line names the right trace.
func TestBootstrapUnderRuntimeAPI(t *testing.T) {
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-buildvcs=false", "-tags", "lambda.norpc", "-o", bootstrap, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	invocations := []invocation{
		{"req-normal", "Root=1-6745a1b2-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1",
			"6745a1b20123456789abcdef01234567", `{"text":"The battery is fantastic. I love it."}`},
		{"req-fail", "Root=1-6745a1b3-0123456789abcdef01234568;Parent=2222222222222222;Sampled=1",
			"6745a1b30123456789abcdef01234568", `{"text":""}`},
		{"req-slow", "Root=1-6745a1b4-0123456789abcdef01234569;Parent=3333333333333333;Sampled=1",
			"6745a1b40123456789abcdef01234569", `{"text":"The plot is boring. Avoid it.","repeat":2000}`},
	}

	var j journal
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					j.add("span " + s.GetName() + " " + hex.EncodeToString(s.GetTraceId()) + " parent " + hex.EncodeToString(s.GetParentSpanId()))
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(resp)
	}))
	defer otlp.Close()

	results := make(chan result, len(invocations))
	stop := make(chan struct{})
	var mu sync.Mutex
	next := 0
	runtime := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if i >= len(invocations) {
				// Like Lambda between invocations: the runtime waits.
				select {
				case <-stop:
				case <-r.Context().Done():
				}
				return
			}
			inv := invocations[i]
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Trace-Id", inv.header)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:sentiment")
			_, _ = io.WriteString(w, inv.payload)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/"):
			parts := strings.Split(r.URL.Path, "/")
			id, kind := parts[4], parts[5]
			body, _ := io.ReadAll(r.Body)
			j.add(kind + " " + id)
			w.WriteHeader(http.StatusAccepted)
			results <- result{kind: kind, body: body}
		default:
			http.NotFound(w, r)
		}
	}))
	defer runtime.Close()
	defer close(stop)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bootstrap)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(runtime.URL, "http://"),
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.URL,
		"AWS_LAMBDA_FUNCTION_NAME=sentiment",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=us-east-1",
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Invocations are sequential: results arrive in invocation order.
	var got []result
	for range invocations {
		select {
		case r := <-results:
			got = append(got, r)
		case err := <-exited:
			t.Fatalf("bootstrap exited early: %v\n%s", err, stderr.String())
		case <-time.After(2 * time.Minute):
			t.Fatalf("no result from bootstrap\n%s", stderr.String())
		}
	}
	require.NoError(t, cmd.Process.Kill())
	<-exited

	var normal Response
	require.NoError(t, json.Unmarshal(got[0].body, &normal))
	assert.Equal(t, "response", got[0].kind)
	assert.Equal(t, "positive", normal.Label)
	var failure struct{ ErrorType, ErrorMessage string }
	require.NoError(t, json.Unmarshal(got[1].body, &failure))
	assert.Equal(t, "error", got[1].kind)
	assert.Equal(t, "InferenceError", failure.ErrorType)
	assert.Equal(t, "empty_text: text is empty", failure.ErrorMessage)
	var slow Response
	require.NoError(t, json.Unmarshal(got[2].body, &slow))
	assert.Equal(t, "negative", slow.Label)

	for i, inv := range invocations {
		kind := "response"
		if i == 1 {
			kind = "error"
		}
		parent := strings.Split(strings.Split(inv.header, "Parent=")[1], ";")[0]
		spanAt := j.index("span inference " + inv.traceID + " parent " + parent)
		resultAt := j.index(kind + " " + inv.id)
		require.GreaterOrEqual(t, spanAt, 0, "inference span of %s not exported: %v", inv.id, j.entries)
		assert.Less(t, spanAt, resultAt, "%s: span exported after the result", inv.id)
	}

	// Every line of an invocation names its trace and no other.
	traceOf := map[string]string{}
	for _, inv := range invocations {
		traceOf[inv.id] = inv.traceID
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		if _, ok := l["event"]; !ok {
			// aws-lambda-go's own report of the handler error, through slog.
			assert.Equal(t, "ERROR", l["level"], line)
			assert.Contains(t, l["msg"], `"errorType":"InferenceError"`, line)
			seen["aws-lambda-go error report"]++
			continue
		}
		id, _ := l["request_id"].(string)
		require.Contains(t, traceOf, id, line)
		assert.Equal(t, traceOf[id], l["trace_id"], line)
		assert.Equal(t, "sentiment", l["service"], line)
		seen[id+" "+l["event"].(string)]++
	}
	assert.Equal(t, map[string]int{
		"req-normal inference_start": 1, "req-normal model_load": 1, "req-normal inference_success": 1,
		"req-fail inference_start": 1, "req-fail inference_failure": 1,
		"req-slow inference_start": 1, "req-slow inference_success": 1,
		"aws-lambda-go error report": 1,
	}, seen)
	assert.Empty(t, stderr.String())
}
