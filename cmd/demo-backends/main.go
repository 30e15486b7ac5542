// Command demo-backends (`make demo-backends`) starts Jaeger, VictoriaLogs and
// VictoriaMetrics on loopback, runs the example ML function with the
// extension under the local Lambda harness (a cold start, normal, slow,
// failing and timed-out invocations), then prints, for the slowest
// invocation, its trace id, its span tree from Jaeger, its log lines from
// VictoriaLogs (queried by that trace id), the inference_duration_ms and
// platform metrics from VictoriaMetrics, and the backends' UI addresses. The
// backends keep running for you to explore; backends/stop.sh stops them.
//
// With --sampling (`make demo-backends SAMPLING=1`) it runs a longer plan
// (more normal invocations) twice, with the shipped config and with the
// sampling preset at a 10% base rate, and prints which invocations were kept
// and why, the slowest one's span tree and log lines as the sampled run
// left them, set against what the unsampled run and Lambda delivered of it,
// and the volume saved.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/e2e/realbackends"
)

func main() {
	ext := flag.String("extension", "", "the extension binary (make build)")
	repo := flag.String("repo", ".", "repository root")
	verbose := flag.Bool("v", false, "also print the extension's and backends' output")
	sampling := flag.Bool("sampling", false, "compare a run with the sampling preset to one without")
	flag.Parse()
	if *ext == "" {
		fmt.Fprintln(os.Stderr, "usage: demo-backends --extension dist/amd64/otelcol-lambda")
		os.Exit(2)
	}
	if err := run(*ext, *repo, *verbose, *sampling); err != nil {
		fmt.Fprintln(os.Stderr, "demo-backends:", err)
		os.Exit(1)
	}
}

func run(ext, repo string, verbose, sampling bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out io.Writer = io.Discard
	if verbose {
		out = os.Stderr
	}
	state := filepath.Join(os.TempDir(), "otelcol-lambda-backends")
	be, err := realbackends.Start(ctx, repo, state, out)
	if err != nil {
		return fmt.Errorf("%w (did you run backends/install.sh? is a set already running? backends/stop.sh stops it)", err)
	}
	dir, err := os.MkdirTemp("", "demo-backends")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	function, err := realbackends.BuildFunction(ctx, repo, dir)
	if err != nil {
		return err
	}
	var slow realbackends.Invocation
	if sampling {
		if slow, err = runSampling(ctx, be, ext, repo, function, out); err != nil {
			return err
		}
	} else if slow, err = runDefault(ctx, be, ext, repo, function, out); err != nil {
		return err
	}
	fmt.Printf(`
UIs (loopback only; the backends keep running, stop them with BACKENDS_STATE=%s backends/stop.sh):
  Jaeger query API   %s/api/traces/%s   (a go-installed Jaeger serves no web UI; see backends/README.md)
  VictoriaLogs       %s/select/vmui/
  VictoriaMetrics    %s/vmui/
`, state, be.JaegerQuery, slow.TraceID, be.VictoriaLogs, be.VictoriaMetrics)
	return nil
}

// runDefault runs the plan once with the shipped config and prints the
// invocations, the slowest one's trace and logs, and the metrics.
func runDefault(ctx context.Context, be *realbackends.Backends, ext, repo, function string, out io.Writer) (realbackends.Invocation, error) {
	res, err := realbackends.Run(ctx, be.Direct(filepath.Join(repo, "collector-config.yaml"), nil), ext, function, realbackends.Plan, out)
	if err != nil {
		return realbackends.Invocation{}, err
	}
	if err := be.Flush(ctx); err != nil {
		return realbackends.Invocation{}, err
	}
	fmt.Println("Invocations:")
	for _, inv := range res.Invocations {
		fmt.Printf("  %-10s %-8s %7.0f ms  trace %s  request %s\n", inv.Name, inv.Status, float64(inv.Took.Microseconds())/1e3, inv.TraceID, inv.RequestID)
	}
	slow := realbackends.Slowest(res.Invocations)
	fmt.Printf("\nSlowest invocation (not counting the timeout): %s, trace id %s\n", slow.Name, slow.TraceID)
	if err := printTrace(ctx, be, slow.TraceID); err != nil {
		return slow, err
	}
	if err := printLogs(ctx, be, slow.TraceID); err != nil {
		return slow, err
	}
	return slow, printMetrics(ctx, be, len(res.Invocations))
}

// samplingSeed fixes the sampled run's trace ids, hence which normal
// invocations the base rate keeps.
const samplingSeed = 12

// runSampling runs the sampling plan without and with the sampling preset
// and prints what was kept, the slowest invocation against what was
// produced of it, and the volume saved.
func runSampling(ctx context.Context, be *realbackends.Backends, ext, repo, function string, out io.Writer) (realbackends.Invocation, error) {
	s, err := realbackends.RunSampling(ctx, be, ext, repo, function, realbackends.SamplingPlan(24, samplingSeed), out)
	if err != nil {
		return realbackends.Invocation{}, err
	}
	fmt.Printf("Invocations with the sampling preset (%s):\n", strings.Join(realbackends.SamplingEnv, " "))
	for i, inv := range s.Sampled.Invocations {
		d, verdict := s.SampledAt[i], "dropped"
		switch {
		case s.Whole(i):
			verdict = "kept whole (" + d.Reason + ")"
		case !s.Dropped(i):
			verdict = "IN PART"
		}
		fmt.Printf("  %2d %-10s %-8s %7.0f ms  trace %s  %2d spans %2d log records  %s\n", i+1, inv.Name, inv.Status,
			float64(inv.Took.Microseconds())/1e3, inv.TraceID, d.Spans, d.Records, verdict)
	}
	slow := realbackends.Slowest(s.Sampled.Invocations)
	i := slices.IndexFunc(s.Sampled.Invocations, func(inv realbackends.Invocation) bool { return inv.RequestID == slow.RequestID })
	fmt.Printf("\nSlowest invocation (not counting the timeout): %s (#%d), trace id %s\n", slow.Name, i+1, slow.TraceID)
	if err := printTrace(ctx, be, slow.TraceID); err != nil {
		return slow, err
	}
	if err := printLogs(ctx, be, slow.TraceID); err != nil {
		return slow, err
	}
	got, want := s.SampledAt[i], s.FullAt[i]
	fmt.Printf("\nWhole: %d spans in Jaeger (the same invocation unsampled: %d), %d log records in VictoriaLogs (unsampled: %d), of which %d function lines (Lambda delivered %d): %v\n",
		got.Spans, want.Spans, got.Records, want.Records, got.Lines, s.Sampled.FunctionLines[slow.RequestID], s.Whole(i))

	fullSpans, fullRecords := realbackends.Totals(s.FullAt)
	spans, records := realbackends.Totals(s.SampledAt)
	n := len(s.Sampled.Invocations)
	fmt.Printf("\nVolume at the backends, %d invocations:\n", n)
	fmt.Printf("  %-12s %10s %10s %10s %28s\n", "", "unsampled", "sampled", "saved", "dropped (in-band counter)")
	for _, r := range []struct {
		name        string
		full, kept  int
		counted     float64
		counterName string
	}{
		{"invocations", n, int(s.KeptInvocations), s.DroppedInvocations, "invocations"},
		{"spans", fullSpans, spans, s.DroppedSpans, "dropped_records"},
		{"log records", fullRecords, records, s.DroppedRecords, "dropped_records"},
	} {
		fmt.Printf("  %-12s %10d %10d %9.0f%% %10.0f %s\n", r.name, r.full, r.kept,
			100*float64(r.full-r.kept)/float64(r.full), r.counted, r.counterName)
	}
	return slow, nil
}

func printTrace(ctx context.Context, be *realbackends.Backends, traceID string) error {
	var spans []realbackends.Span
	var err error
	for range 50 { // Jaeger stores asynchronously: up to 10 s
		if spans, err = be.Trace(ctx, traceID); err != nil || len(spans) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	fmt.Printf("\nSpan tree from Jaeger (%d spans):\n", len(spans))
	children := map[string][]realbackends.Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots []realbackends.Span
	for _, s := range spans {
		if p := s.Parent(); p != "" && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var walk func(s realbackends.Span, depth int)
	walk = func(s realbackends.Span, depth int) {
		extra := ""
		for _, k := range []string{"span.kind", "faas.coldstart", "aws.lambda.status", "error.type", "model.name", "label", "score"} {
			if v := s.Tag(k); v != "" {
				extra += " " + k + "=" + v
			}
		}
		fmt.Printf("  %s%-18s %8.1f ms%s\n", strings.Repeat("  ", depth), s.OperationName, float64(s.Duration)/1e3, extra)
		kids := children[s.SpanID]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTime < kids[j].StartTime })
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].StartTime < roots[j].StartTime })
	for _, r := range roots {
		walk(r, 0)
	}
	return nil
}

func printLogs(ctx context.Context, be *realbackends.Backends, traceID string) error {
	lines, err := be.Logs(ctx, `trace_id:="`+traceID+`" | sort by (_time)`)
	if err != nil {
		return err
	}
	fmt.Printf("\nLog lines from VictoriaLogs with trace_id %s (%d):\n", traceID, len(lines))
	for _, l := range lines {
		fmt.Printf("  %s  %-5s %s", l["_time"], l["severity_text"], l["_msg"])
		for _, k := range []string{"event", "duration_ms", "label", "score"} {
			if v, ok := l[k]; ok {
				fmt.Printf("  %s=%s", k, v)
			}
		}
		fmt.Println()
	}
	return nil
}

func printMetrics(ctx context.Context, be *realbackends.Backends, invocations int) error {
	// New series take a moment to become searchable: wait (up to 30 s) until
	// every invocation is counted.
	for range 60 {
		_ = be.Flush(ctx)
		if v, found, err := be.Metric(ctx, `sum({__name__="faas.invocations"})`); err != nil || (found && int(v) == invocations) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Println("\nMetrics from VictoriaMetrics:")
	for _, q := range []string{
		`sum({__name__="inference_duration_ms_count"})`,
		`histogram_quantile(0.99, sum({__name__="inference_duration_ms_bucket"}) by (le))`,
		`sum({__name__="faas.invocations"})`,
		`sum({__name__="faas.coldstarts"})`,
		`sum({__name__="faas.errors"})`,
		`sum({__name__="faas.timeouts"})`,
		`histogram_quantile(0.99, sum({__name__="faas.invoke_duration_bucket"}) by (le))`,
		`sum({__name__="aws.lambda.billed_duration"})`,
	} {
		v, found, err := be.Metric(ctx, q)
		if err != nil {
			return err
		}
		if !found {
			fmt.Printf("  %-80s (no data yet)\n", q)
			continue
		}
		fmt.Printf("  %-80s %g\n", q, v)
	}
	return nil
}
