// Command smoke proves that the backends started by backends/start.sh accept
// OTLP/HTTP (protobuf) and make the data visible through the query APIs an
// end-to-end test uses: it sends one trace to Jaeger, one log record to
// VictoriaLogs and two metrics to VictoriaMetrics, all tagged with a fresh
// trace id / run id, then polls each query API (bounded) until it finds them.
//
// It uses the standard library's HTTP client so CI needs no curl.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

const (
	serviceName = "backends-smoke"
	spanName    = "smoke-span"
	histName    = "smoke.duration"
	deltaName   = "smoke.requests"
)

type config struct {
	jaegerOTLP  string
	jaegerQuery string
	vlogs       string
	vmetrics    string
	timeout     time.Duration
	signals     string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.jaegerOTLP, "jaeger-otlp-http", envOr("JAEGER_OTLP_HTTP", "http://127.0.0.1:14318"), "Jaeger OTLP/HTTP base URL (/v1/traces is appended)")
	flag.StringVar(&cfg.jaegerQuery, "jaeger-query", envOr("JAEGER_QUERY", "http://127.0.0.1:16686"), "Jaeger query/UI base URL")
	flag.StringVar(&cfg.vlogs, "victorialogs", envOr("VICTORIALOGS", "http://127.0.0.1:9428"), "VictoriaLogs base URL")
	flag.StringVar(&cfg.vmetrics, "victoriametrics", envOr("VICTORIAMETRICS", "http://127.0.0.1:8428"), "VictoriaMetrics base URL")
	flag.StringVar(&cfg.signals, "signals", "traces,logs,metrics", "comma-separated signals to check")
	flag.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "how long to wait for each backend to show the data")
	flag.Parse()

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("smoke: OK")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(cfg config) error {
	var traceID pcommon.TraceID
	var spanID pcommon.SpanID
	if _, err := rand.Read(traceID[:]); err != nil {
		return err
	}
	if _, err := rand.Read(spanID[:]); err != nil {
		return err
	}
	runID := hex.EncodeToString(spanID[:])
	traceHex := hex.EncodeToString(traceID[:])
	spanHex := hex.EncodeToString(spanID[:])
	now := time.Now()
	fmt.Printf("smoke: trace_id=%s span_id=%s run.id=%s\n", traceHex, spanHex, runID)

	type step struct {
		signal   string
		name     string
		endpoint string                 // OTLP/HTTP URL
		marshal  func() ([]byte, error) // the protobuf request
		flush    string                 // base URL to force-flush after sending, if any
		find     func(context.Context) (string, error)
	}
	steps := []step{
		{
			signal:   "traces",
			name:     "jaeger traces",
			endpoint: cfg.jaegerOTLP + "/v1/traces",
			marshal:  ptraceotlp.NewExportRequestFromTraces(buildTraces(traceID, spanID, now)).MarshalProto,
			find: func(ctx context.Context) (string, error) {
				return findJaegerSpan(ctx, cfg.jaegerQuery, traceHex, spanHex)
			},
		},
		{
			signal:   "logs",
			name:     "victorialogs logs",
			endpoint: cfg.vlogs + "/insert/opentelemetry/v1/logs",
			marshal:  plogotlp.NewExportRequestFromLogs(buildLogs(traceID, spanID, runID, now)).MarshalProto,
			flush:    cfg.vlogs,
			find: func(ctx context.Context) (string, error) {
				return findLog(ctx, cfg.vlogs, traceHex, spanHex, runID)
			},
		},
		{
			signal:   "metrics",
			name:     "victoriametrics metrics",
			endpoint: cfg.vmetrics + "/opentelemetry/v1/metrics",
			marshal:  pmetricotlp.NewExportRequestFromMetrics(buildMetrics(runID, now)).MarshalProto,
			flush:    cfg.vmetrics,
			find: func(ctx context.Context) (string, error) {
				return findMetrics(ctx, cfg.vmetrics, runID)
			},
		},
	}
	wanted := strings.Split(cfg.signals, ",")
	for _, w := range wanted {
		if !slices.ContainsFunc(steps, func(s step) bool { return s.signal == w }) {
			return fmt.Errorf("-signals %q: unknown signal %q (want traces, logs, metrics)", cfg.signals, w)
		}
	}
	for _, s := range steps {
		if !slices.Contains(wanted, s.signal) {
			continue
		}
		start := time.Now()
		if err := send(s.endpoint, s.marshal, s.flush); err != nil {
			return fmt.Errorf("%s: send: %w", s.name, err)
		}
		sent := time.Since(start)
		ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
		detail, err := poll(ctx, s.find)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: not visible within %s: %w", s.name, cfg.timeout, err)
		}
		fmt.Printf("smoke: %-24s sent in %-8s visible after %-8s %s\n", s.name, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), detail)
	}
	return nil
}

// poll calls find every 250 ms until it succeeds or ctx ends; the last error
// says what was missing.
func poll(ctx context.Context, find func(context.Context) (string, error)) (string, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		detail, err := find(ctx)
		if err == nil {
			return detail, nil
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-tick.C:
		}
	}
}

func buildTraces(traceID pcommon.TraceID, spanID pcommon.SpanID, now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", serviceName)
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(traceID)
	span.SetSpanID(spanID)
	span.SetName(spanName)
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-50 * time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	span.Attributes().PutStr("smoke.kind", "trace")
	return td
}

func buildLogs(traceID pcommon.TraceID, spanID pcommon.SpanID, runID string, now time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", serviceName)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.Body().SetStr("backends smoke log " + runID)
	lr.Attributes().PutStr("event", "smoke")
	lr.Attributes().PutDouble("duration_ms", 12.5)
	return ld
}

// buildMetrics makes a cumulative explicit-bucket histogram (3 observations:
// 5, 50, 500 ms) and a delta monotonic sum, the two shapes the project exports.
func buildMetrics(runID string, now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", serviceName)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("smoke")
	ts := pcommon.NewTimestampFromTime(now)
	start := pcommon.NewTimestampFromTime(now.Add(-time.Second))

	h := sm.Metrics().AppendEmpty()
	h.SetName(histName)
	h.SetUnit("ms")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := hist.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(ts)
	dp.Attributes().PutStr("run.id", runID)
	dp.ExplicitBounds().FromRaw([]float64{10, 100, 1000})
	dp.BucketCounts().FromRaw([]uint64{1, 1, 1, 0})
	dp.SetCount(3)
	dp.SetSum(555)

	s := sm.Metrics().AppendEmpty()
	s.SetName(deltaName)
	sum := s.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sp := sum.DataPoints().AppendEmpty()
	sp.SetStartTimestamp(start)
	sp.SetTimestamp(ts)
	sp.Attributes().PutStr("run.id", runID)
	sp.SetIntValue(7)
	return md
}

var client = &http.Client{Timeout: 10 * time.Second}

// send posts one gzip-compressed OTLP/HTTP protobuf request (as the
// collector's otlphttp exporter does by default) and, when flush names a
// VictoriaLogs/VictoriaMetrics base URL, calls its /internal/force_flush:
// without it VictoriaMetrics showed new series only after 4-12 s here.
func send(endpoint string, marshal func() ([]byte, error), flush string) error {
	body, err := marshal()
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, &gz)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(msg)))
	}
	if flush == "" {
		return nil
	}
	_, err = get(context.Background(), flush+"/internal/force_flush")
	return err
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// findJaegerSpan reads the trace through Jaeger's HTTP JSON API
// (/api/traces/<id>) and returns once it holds our span.
func findJaegerSpan(ctx context.Context, base, traceHex, spanHex string) (string, error) {
	body, err := get(ctx, base+"/api/traces/"+traceHex)
	if err != nil {
		return "", err
	}
	var res struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				SpanID        string `json:"spanID"`
				OperationName string `json:"operationName"`
				ProcessID     string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return "", fmt.Errorf("decode %s: %w", body, err)
	}
	for _, t := range res.Data {
		for _, s := range t.Spans {
			if s.SpanID == spanHex && s.OperationName == spanName && t.Processes[s.ProcessID].ServiceName == serviceName {
				return fmt.Sprintf("GET /api/traces/%s -> span %q of service %q", traceHex, s.OperationName, serviceName), nil
			}
		}
	}
	return "", fmt.Errorf("trace %s has no span %s yet: %s", traceHex, spanHex, body)
}

// findLog queries VictoriaLogs by the record's trace id, which its OTLP
// ingestion stores as the hex field trace_id.
func findLog(ctx context.Context, base, traceHex, spanHex, runID string) (string, error) {
	query := fmt.Sprintf(`trace_id:=%q`, traceHex)
	body, err := get(ctx, base+"/select/logsql/query?"+url.Values{"query": {query}}.Encode())
	if err != nil {
		return "", err
	}
	// The response is JSON lines, one object of string fields per record.
	for line := range strings.Lines(string(body)) {
		var rec map[string]string
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return "", fmt.Errorf("decode %q: %w", line, err)
		}
		want := map[string]string{
			"_msg":          "backends smoke log " + runID,
			"trace_id":      traceHex,
			"span_id":       spanHex,
			"event":         "smoke",
			"duration_ms":   "12.5",
			"service.name":  serviceName,
			"severity_text": "Info",
		}
		for k, v := range want {
			if rec[k] != v {
				return "", fmt.Errorf("field %s = %q, want %q in %s", k, rec[k], v, line)
			}
		}
		return fmt.Sprintf("GET /select/logsql/query?query=%s -> %s", query, strings.TrimSpace(line)), nil
	}
	return "", errors.New("no record for " + query + " yet")
}

// findMetrics checks the names VictoriaMetrics gives OTLP metrics by default:
// the OTLP name unchanged (dots kept) with _count/_sum/_bucket{le} for
// histograms, and data point attributes as labels of the same name.
func findMetrics(ctx context.Context, base, runID string) (string, error) {
	checks := []struct {
		query string
		want  float64
	}{
		{fmt.Sprintf(`{__name__=%q,"run.id"=%q}`, histName+"_count", runID), 3},
		{fmt.Sprintf(`{__name__=%q,"run.id"=%q}`, histName+"_sum", runID), 555},
		{fmt.Sprintf(`{__name__=%q,"run.id"=%q,le="100"}`, histName+"_bucket", runID), 2},
		{fmt.Sprintf(`{__name__=%q,"run.id"=%q,le="+Inf"}`, histName+"_bucket", runID), 3},
		{fmt.Sprintf(`sum_over_time({__name__=%q,"run.id"=%q}[5m])`, deltaName, runID), 7},
	}
	var found []string
	for _, c := range checks {
		body, err := get(ctx, base+"/api/v1/query?"+url.Values{"query": {c.query}}.Encode())
		if err != nil {
			return "", err
		}
		var res struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return "", fmt.Errorf("decode %s: %w", body, err)
		}
		if len(res.Data.Result) != 1 {
			return "", fmt.Errorf("%s: %d series, want 1: %s", c.query, len(res.Data.Result), body)
		}
		r := res.Data.Result[0]
		if got := fmt.Sprint(r.Value[1]); got != fmt.Sprint(c.want) {
			return "", fmt.Errorf("%s = %s, want %v", c.query, got, c.want)
		}
		if r.Metric["service.name"] != serviceName {
			return "", fmt.Errorf("%s: labels %v lack service.name=%s", c.query, r.Metric, serviceName)
		}
		found = append(found, fmt.Sprintf("%s=%v", c.query, c.want))
		if len(found) == 1 {
			found = append(found, fmt.Sprintf("labels %v", r.Metric))
		}
	}
	return strings.Join(found, "; "), nil
}
