// Package realbackends runs the example ML function with the extension under
// the project's Lambda emulator, exporting to real backends started by
// backends/start.sh (Jaeger, VictoriaLogs, VictoriaMetrics), and reads back
// what they stored. The end-to-end test asserts on it; `make demo-backends`
// prints it.
package realbackends

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Backends are the base URLs of a running set (backends/endpoints.env).
type Backends struct {
	JaegerOTLP, JaegerQuery, VictoriaLogs, VictoriaMetrics string
	stop                                                   func() error
}

// Start runs backends/start.sh with its state in stateDir; Stop undoes it.
func Start(ctx context.Context, repo, stateDir string, out io.Writer) (*Backends, error) {
	env := append(os.Environ(), "BACKENDS_STATE="+stateDir)
	start := exec.CommandContext(ctx, "bash", filepath.Join(repo, "backends", "start.sh"))
	start.Env, start.Stdout, start.Stderr = env, out, out
	stop := func() error {
		cmd := exec.Command("bash", filepath.Join(repo, "backends", "stop.sh"))
		cmd.Env, cmd.Stdout, cmd.Stderr = env, out, out
		return cmd.Run()
	}
	if err := start.Run(); err != nil {
		_ = stop()
		return nil, fmt.Errorf("backends/start.sh: %w", err)
	}
	vars, err := readEnvFile(filepath.Join(stateDir, "endpoints.env"))
	if err != nil {
		_ = stop()
		return nil, err
	}
	return &Backends{
		JaegerOTLP: vars["JAEGER_OTLP_HTTP"], JaegerQuery: vars["JAEGER_QUERY"],
		VictoriaLogs: vars["VICTORIALOGS"], VictoriaMetrics: vars["VICTORIAMETRICS"],
		stop: stop,
	}, nil
}

// Stop stops the backends and removes their state.
func (b *Backends) Stop() error { return b.stop() }

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	return vars, sc.Err()
}

// ExporterArgs point an otlp_http exporter (the layer's or a gateway
// replica's) at the three backends, an endpoint per signal. labels
// (name=value) are added to every metric series it writes
// (VictoriaMetrics' extra_label), e.g. to tell its writers apart.
func (b *Backends) ExporterArgs(labels ...string) []string {
	query := url.Values{"extra_label": labels}.Encode()
	metrics := b.VictoriaMetrics + "/opentelemetry/v1/metrics"
	if query != "" {
		metrics += "?" + query
	}
	return []string{
		"--config=yaml:exporters::otlp_http::traces_endpoint: " + b.JaegerOTLP + "/v1/traces",
		"--config=yaml:exporters::otlp_http::logs_endpoint: " + b.VictoriaLogs + "/insert/opentelemetry/v1/logs",
		"--config=yaml:exporters::otlp_http::metrics_endpoint: " + metrics,
	}
}

// Direct is the example function's environment with the extension's
// config at config and env (NAME=value), exporting straight to the
// backends.
func (b *Backends) Direct(config string, env []string) Environment {
	return Environment{
		FunctionName: "sentiment", Config: config, Args: b.ExporterArgs(),
		Env: append([]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + b.JaegerOTLP}, env...),
	}
}

// Flush makes what the Victoria backends received searchable at once.
func (b *Backends) Flush(ctx context.Context) error {
	for _, base := range []string{b.VictoriaLogs, b.VictoriaMetrics} {
		if _, err := get(ctx, base+"/internal/force_flush"); err != nil {
			return err
		}
	}
	return nil
}

// Span is a span as Jaeger's query API returns it.
type Span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64 `json:"startTime"` // µs
	Duration  int64 `json:"duration"`  // µs
	Tags      []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
	ProcessID string `json:"processID"`
}

// Tag returns the value of a tag as text ("" when absent).
func (s Span) Tag(key string) string {
	for _, t := range s.Tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

// Parent is the span's CHILD_OF reference ("" for a root).
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Trace returns the spans Jaeger holds for traceID (none when not found).
func (b *Backends) Trace(ctx context.Context, traceID string) ([]Span, error) {
	body, err := get(ctx, b.JaegerQuery+"/api/traces/"+traceID)
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return nil, nil
		}
		return nil, err
	}
	var res struct {
		Data []struct {
			Spans []Span `json:"spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, err
	}
	var spans []Span
	for _, d := range res.Data {
		spans = append(spans, d.Spans...)
	}
	return spans, nil
}

// Logs runs a LogsQL query on VictoriaLogs; each record is a map of fields.
func (b *Backends) Logs(ctx context.Context, query string) ([]map[string]string, error) {
	body, err := get(ctx, b.VictoriaLogs+"/select/logsql/query?query="+url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		rec := map[string]string{}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("VictoriaLogs line %q: %w", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Series is one series of an instant query's result.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant MetricsQL query on VictoriaMetrics.
func (b *Backends) Query(ctx context.Context, query string) ([]Series, error) {
	body, err := get(ctx, b.VictoriaMetrics+"/api/v1/query?query="+url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	var res struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, err
	}
	out := make([]Series, len(res.Data.Result))
	for i, r := range res.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v: %w", query, r.Value[1], err)
		}
		out[i] = Series{Labels: r.Metric, Value: v}
	}
	return out, nil
}

// Metric runs an instant MetricsQL query that yields one number (NaN-free
// sum); found is false when the result is empty.
func (b *Backends) Metric(ctx context.Context, query string) (value float64, found bool, err error) {
	res, err := b.Query(ctx, query)
	if err != nil || len(res) == 0 {
		return 0, false, err
	}
	return res[0].Value, true, nil
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %d: %s", u, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}
