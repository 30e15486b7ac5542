package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"

	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// otlpSink is an OTLP/HTTP traces endpoint on 127.0.0.1.
type otlpSink struct {
	addr  string
	srv   *http.Server
	mu    sync.Mutex
	spans []ptrace.Span
}

func newOTLPSink(t *testing.T) *otlpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &otlpSink{addr: ln.Addr().String()}
	s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if r.URL.Path != "/v1/traces" || req.UnmarshalProto(body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		rss := req.Traces().ResourceSpans()
		for i := range rss.Len() {
			ss := rss.At(i).ScopeSpans()
			for j := range ss.Len() {
				for k := range ss.At(j).Spans().Len() {
					s.spans = append(s.spans, ss.At(j).Spans().At(k))
				}
			}
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "test-ext")
	b, err := exec.Command("go", "build", "-o", bin, "../../internal/lambdaemu/testdata/testextension").CombinedOutput()
	require.NoError(t, err, string(b))

	tests := []struct {
		name    string
		mode    string
		wantErr string
	}{
		{name: "well-behaved extension"},
		{name: "never registers", mode: "noregister", wantErr: "did not complete Init"},
		{name: "crashes at the first INVOKE", mode: "crash", wantErr: "extension exited during invocation 1"},
		{name: "ignores SHUTDOWN", mode: "hang", wantErr: "missed the SHUTDOWN deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sink := newOTLPSink(t)
			outPath := filepath.Join(t.TempDir(), "out.jsonl")
			var stdout, stderr bytes.Buffer
			opts := options{
				extension: bin, invocations: 4, otlpEndpoint: sink.addr, slow: 50 * time.Millisecond, timeout: 3 * time.Second,
				extraEnv: []string{"TESTEXT_OUT=" + outPath, "TESTEXT_MODE=" + tt.mode},
			}
			err := run(ctx, opts, &stdout, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err, stderr.String())
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err, stderr.String())
			assert.Contains(t, stdout.String(), "test-ext shut down cleanly", "the extension's output is forwarded")
			assert.Contains(t, stderr.String(), "invocation 2 (fail)")
			assert.Contains(t, stderr.String(), "status error HandlerError")
			assert.Contains(t, stderr.String(), "post-runtime extension time")

			// Every function log line and exported span carries the trace id of
			// its invocation's X-Ray header.
			roots := map[string]string{} // requestId -> 32-hex trace id
			logged := map[string]string{}
			f, err := os.Open(outPath)
			require.NoError(t, err)
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var line struct {
					Kind  string
					Value struct {
						EventType, RequestID string
						Tracing              struct{ Value string }
						Type                 string
						Record               json.RawMessage
					}
				}
				var kind struct{ Kind string }
				require.NoError(t, json.Unmarshal(sc.Bytes(), &kind))
				if kind.Kind != "event" && kind.Kind != "record" {
					continue
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
				switch {
				case line.Kind == "event" && line.Value.EventType == "INVOKE":
					traceID, _ := samplefunction.XRay(line.Value.Tracing.Value)
					roots[line.Value.RequestID] = traceID.String()
				case line.Kind == "record" && line.Value.Type == "function":
					var text string
					require.NoError(t, json.Unmarshal(line.Value.Record, &text))
					var rec struct {
						RequestID string `json:"requestId"`
						TraceID   string `json:"trace_id"`
					}
					require.NoError(t, json.Unmarshal([]byte(text), &rec))
					logged[rec.RequestID] = rec.TraceID
				}
			}
			require.Len(t, roots, 4)
			assert.Equal(t, roots, logged)
			sink.mu.Lock()
			defer sink.mu.Unlock()
			require.Len(t, sink.spans, 4)
			exported := map[string]string{}
			for _, s := range sink.spans {
				id, _ := s.Attributes().Get("faas.invocation_id")
				exported[id.Str()] = s.TraceID().String()
			}
			assert.Equal(t, roots, exported)
			assert.True(t, strings.Contains(stdout.String(), "received SHUTDOWN"))
		})
	}
}
