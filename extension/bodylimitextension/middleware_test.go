package bodylimitextension

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

const testLimit = 4096

// host hands the receiver its extensions, as the collector's host does.
type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

// otlpListener is the stock OTLP receiver with the extension as its HTTP
// middleware, on loopback.
type otlpListener struct {
	url      string
	sink     *consumertest.TracesSink
	registry *lambdalifecycle.Registry
}

func startOTLP(t *testing.T, listenerLimit int64) otlpListener {
	t.Helper()
	registry := &lambdalifecycle.Registry{}
	ef := newFactory(registry)
	ecfg := ef.CreateDefaultConfig().(*Config)
	ecfg.MaxRequestBodySize = testLimit
	set := extensiontest.NewNopSettings(ef.Type())
	set.ID = component.NewID(metadata.Type)
	ext, err := ef.Create(context.Background(), set, ecfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })

	addr, err := loopback.FreeAddr()
	require.NoError(t, err)
	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*otlpreceiver.Config)
	rcfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	hc := rcfg.Protocols.HTTP.GetOrInsertDefault()
	hc.ServerConfig.NetAddr.Endpoint = addr
	hc.ServerConfig.MaxRequestBodySize = listenerLimit
	hc.ServerConfig.Middlewares = []configmiddleware.Config{{ID: set.ID}}
	sink := &consumertest.TracesSink{}
	r, err := rf.CreateTraces(context.Background(), receivertest.NewNopSettings(rf.Type()), rcfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host{set.ID: ext}))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return otlpListener{url: "http://" + addr + "/v1/traces", sink: sink, registry: registry}
}

// traces returns an OTLP protobuf request of about size bytes.
func traces(t *testing.T, size int) []byte {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().
		Attributes().PutStr("payload", strings.Repeat("x", size))
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return body
}

// post sends body, as one of known length unless chunked.
func post(t *testing.T, url, contentType string, body []byte, chunked bool, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: net/http sends it chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, msg
}

func refusedRequests(t *testing.T, registry *lambdalifecycle.Registry) float64 {
	t.Helper()
	for _, s := range registry.Stats() {
		if s.Name == "otelcol.bodylimit.refused_requests" {
			assert.True(t, s.Cumulative)
			assert.Equal(t, map[string]string{"bodylimit": "bodylimit"}, s.Attributes)
			return s.Value
		}
	}
	t.Fatal("refused_requests not registered")
	return 0
}

// A body at most the limit reaches the receiver's consumer; a larger one,
// with or without Content-Length, is answered 413 with a google.rpc.Status
// naming the limit and is counted.
func TestOTLPProtobuf(t *testing.T) {
	l := startOTLP(t, testLimit)
	assert.Zero(t, refusedRequests(t, l.registry), "counted from zero")

	fits := traces(t, testLimit-100)
	require.LessOrEqual(t, len(fits), testLimit)
	for _, chunked := range []bool{false, true} {
		resp, _ := post(t, l.url, "application/x-protobuf", fits, chunked)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.Equal(t, 2, l.sink.SpanCount())

	big := traces(t, 10*testLimit)
	require.Len(t, big, 41005)
	for _, tt := range []struct {
		name    string
		chunked bool
		want    string
	}{
		{name: "content-length", want: "request body of 41005 bytes exceeds max_request_body_size (4096 bytes)"},
		{name: "chunked", chunked: true, want: "request body exceeds max_request_body_size (4096 bytes)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, msg := post(t, l.url, "application/x-protobuf", big, tt.chunked)
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
			var st spb.Status
			require.NoError(t, proto.Unmarshal(msg, &st))
			assert.Equal(t, tt.want, st.GetMessage())
		})
	}
	assert.Equal(t, 2, l.sink.SpanCount(), "nothing of a refused body is consumed")
	assert.Equal(t, 2.0, refusedRequests(t, l.registry))
}

// A refused Content-Length is answered before the body is sent to a client
// that waits for 100 Continue: none of it is read.
func TestRefusedBeforeTheBodyIsRead(t *testing.T) {
	l := startOTLP(t, testLimit)
	body := &countingReader{r: bytes.NewReader(traces(t, 10*testLimit))}
	req, err := http.NewRequest(http.MethodPost, l.url, body)
	require.NoError(t, err)
	req.ContentLength = int64(body.r.Len())
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Expect", "100-continue")
	// The timeout only says when the client gives up waiting and sends the
	// body anyway; an answer comes first.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 1 << 62}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Zero(t, body.n, "bytes of the body the client was asked for")
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// An OTLP/JSON request gets its Status in JSON; a body compressed below the
// limit that decompresses past it is refused (the limit is on what the
// receiver reads); a body the listener's own, lower, limit cuts is a 413
// with that limit.
func TestEncodingsAndLimits(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		l := startOTLP(t, testLimit)
		resp, msg := post(t, l.url, "application/json", bytes.Repeat([]byte(" "), 2*testLimit), true)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var st spb.Status
		require.NoError(t, protojson.Unmarshal(msg, &st), string(msg))
		assert.Equal(t, "request body exceeds max_request_body_size (4096 bytes)", st.GetMessage())
	})
	t.Run("gzip", func(t *testing.T) {
		l := startOTLP(t, testLimit)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, err := zw.Write(traces(t, 10*testLimit))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.Less(t, gz.Len(), testLimit)
		resp, msg := post(t, l.url, "application/x-protobuf", gz.Bytes(), false, "Content-Encoding", "gzip")
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		var st spb.Status
		require.NoError(t, proto.Unmarshal(msg, &st))
		assert.Equal(t, "request body exceeds max_request_body_size (4096 bytes)", st.GetMessage())
		assert.Equal(t, 1.0, refusedRequests(t, l.registry))
	})
	t.Run("listener's own limit", func(t *testing.T) {
		l := startOTLP(t, testLimit/2)
		resp, msg := post(t, l.url, "application/x-protobuf", traces(t, testLimit-100), true)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		var st spb.Status
		require.NoError(t, proto.Unmarshal(msg, &st))
		assert.Equal(t, "request body exceeds max_request_body_size (2048 bytes)", st.GetMessage())
	})
	t.Run("other content types", func(t *testing.T) {
		l := startOTLP(t, testLimit)
		resp, msg := post(t, l.url, "text/plain", bytes.Repeat([]byte("x"), 2*testLimit), false)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, "request body of 8192 bytes exceeds max_request_body_size (4096 bytes)", string(msg))
	})
}

// Other answers of the handler pass through unchanged.
func TestOtherAnswersPassThrough(t *testing.T) {
	l := startOTLP(t, testLimit)
	resp, msg := post(t, l.url, "application/x-protobuf", []byte("garbage!"), false)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var st spb.Status
	require.NoError(t, proto.Unmarshal(msg, &st))
	assert.Contains(t, st.GetMessage(), "proto")
	assert.Zero(t, refusedRequests(t, l.registry))
}

// Shutdown removes the stats source.
func TestShutdownUnregistersStats(t *testing.T) {
	registry := &lambdalifecycle.Registry{}
	f := newFactory(registry)
	e, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), f.CreateDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), nil))
	assert.Len(t, registry.Stats(), 1)
	require.NoError(t, e.Shutdown(context.Background()))
	assert.Empty(t, registry.Stats())
}
