package decoupleprocessor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
)

// otlpBackend answers OTLP/HTTP log exports with a script of status codes
// (200 once it runs out) and records each request.
type otlpBackend struct {
	mu       sync.Mutex
	script   []int
	arrivals []time.Time
	records  []int // per request
	accepted []string
}

func (b *otlpBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := plogotlp.NewExportRequest()
	if err != nil || req.UnmarshalProto(body) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrivals = append(b.arrivals, time.Now())
	b.records = append(b.records, req.Logs().LogRecordCount())
	status := http.StatusOK
	if len(b.script) > 0 {
		status, b.script = b.script[0], b.script[1:]
	}
	switch status {
	case http.StatusOK:
		b.accepted = append(b.accepted, bodies(req.Logs())...)
		resp, _ := plogotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
	default:
		w.WriteHeader(status)
	}
}

// Through the real otlphttp exporter, configured as shipped (no queue, no
// retry): a 503, then a 429 with Retry-After: 1, then a 200. The spool
// retries the 503 at once, waits the second the 429 asked for, and the
// records arrive exactly once.
func TestThroughOTLPHTTPExporter(t *testing.T) {
	be := &otlpBackend{script: []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}}
	srv := httptest.NewServer(be)
	defer srv.Close()

	exp := startOTLPHTTPExporter(t, srv.URL, func(c *otlphttpexporter.Config) { c.ClientConfig.Compression = "" })

	registry := &lambdalifecycle.Registry{}
	f := newFactory(registry)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	cfg.Retry.InitialInterval, cfg.Retry.MaxInterval = 10*time.Millisecond, 10*time.Millisecond
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, exp)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	require.NoError(t, p.ConsumeLogs(context.Background(), logs("a", "b", "c")))
	held := func() float64 {
		for _, s := range registry.Stats() {
			if s.Name == "otelcol.decouple.spool.records" {
				return s.Value
			}
		}
		return -1
	}
	assert.Eventually(t, func() bool { return held() == 0 }, 10*time.Second, time.Millisecond)

	be.mu.Lock()
	defer be.mu.Unlock()
	assert.Equal(t, []int{3, 3, 3}, be.records, "503, 429, 200")
	assert.Equal(t, []string{"a", "b", "c"}, be.accepted, "exactly once")
	assert.GreaterOrEqual(t, be.arrivals[2].Sub(be.arrivals[1]), time.Second, "Retry-After: 1 honoured (the backoff alone is 10 ms)")
	for _, s := range registry.Stats() {
		if s.Name == "otelcol.decouple.export_failures" {
			assert.Equal(t, 2.0, s.Value)
		}
	}
}

// BenchmarkExportCompression is the shipped config's exporter (otlp_http,
// gzip) sending one 1000-record batch to a loopback server that discards
// it, at gzip's default level and at level 1 (the shipped one): the CPU of
// an export, and the bytes sent (BENCHMARKS.md, "Export compression").
func BenchmarkExportCompression(b *testing.B) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		sent.Store(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ld := benchLogs()
	for _, level := range []configcompression.Level{configcompression.DefaultCompressionLevel, 1} {
		b.Run("level="+strconv.Itoa(int(level)), func(b *testing.B) {
			exp := startOTLPHTTPExporter(b, srv.URL, func(c *otlphttpexporter.Config) {
				c.ClientConfig.Compression = configcompression.TypeGzip
				c.ClientConfig.CompressionParams.Level = level
			})
			for b.Loop() {
				require.NoError(b, exp.ConsumeLogs(context.Background(), ld))
			}
			b.ReportMetric(float64(sent.Load()), "sent-bytes/op")
		})
	}
}

// startOTLPHTTPExporter starts the stock otlphttp logs exporter towards url,
// synchronous (no queue, no retry: decouple is both), as configure adjusts it;
// it is shut down with tb.
func startOTLPHTTPExporter(tb testing.TB, url string, configure func(*otlphttpexporter.Config)) exporter.Logs {
	tb.Helper()
	ef := otlphttpexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*otlphttpexporter.Config)
	ecfg.ClientConfig.Endpoint = url
	ecfg.RetryConfig.Enabled = false
	ecfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	configure(ecfg)
	exp, err := ef.CreateLogs(context.Background(), exporter.Settings{
		ID: component.NewID(ef.Type()), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo(),
	}, ecfg)
	require.NoError(tb, err)
	require.NoError(tb, exp.Start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, exp.Shutdown(context.Background())) })
	return exp
}
