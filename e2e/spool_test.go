package e2e

// Whole-binary tests of the spool design (issue 9): telemetry leaves the
// invocation's path into a spool on /tmp, the extension's billed time per
// invocation is bounded whatever the backend does, an outage loses nothing
// (each span and line arrives once, after recovery), SHUTDOWN ends in time,
// and every drop is counted in the metrics exported with the data. The
// backend is internal/faultbackend; the extension runs with the shipped
// collector-config.yaml under the project's emulator, SIGSTOPped while frozen.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

const (
	// runInvocations per run; the outage covers invocations outageFrom..outageTo.
	runInvocations = 8
	outageFrom     = 2
	outageTo       = 4
	// linesPerInvocation the handler writes (and exports nothing else).
	linesPerInvocation = 20
	// postRuntimeBound is the generous bound on the billed time the
	// extension adds after each response, whatever the backend does: end
	// mode waits for the Telemetry API's 25 ms buffering plus a ~50 ms export
	// budget; adaptive at steady traffic adds next to nothing. The design
	// before the spool took about 2 s per invocation with a hanging backend
	// (its exporter's timeout), 0.9 s with a refusing one (its retries).
	postRuntimeBound = time.Second
)

// flushStrategies are the strategies every scenario runs with.
var flushStrategies = []string{"end", "adaptive"}

// spoolRun is one extension process under the emulator, exporting to a
// fault backend.
type spoolRun struct {
	t     *testing.T
	ctx   context.Context
	emu   *lambdaemu.Emulator
	proc  *lambdaemu.Process
	be    backend
	out   *lambdaemutest.Output
	lines int
	// ids of the invocations, in order.
	ids []string
}

type runOptions struct {
	strategy  string
	lines     int      // per invocation; default linesPerInvocation
	padding   int      // extra bytes per line
	args      []string // more collector arguments
	telemetry lambdaemu.TelemetryConfig
	// handler, when set, runs after the lines are written.
	handler func(ctx context.Context, inv lambdaemu.Invocation)
}

// lineText is the k-th line of invocation id: unique, so each can be found
// (and counted) at the backend, with padding bytes of hex that a compressed
// spool cannot shrink to nothing.
func lineText(id string, k, padding int) string {
	line := fmt.Sprintf("spool-e2e line %04d of %s", k, id)
	if padding == 0 {
		return line
	}
	var pad strings.Builder
	for i := 0; pad.Len() < padding; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", id, k, i))
		pad.WriteString(hex.EncodeToString(sum[:]))
	}
	return line + " " + pad.String()[:padding]
}

func startSpoolRun(t *testing.T, o runOptions) *spoolRun {
	t.Helper()
	bin := extensionBinary(t)
	if o.lines == 0 {
		o.lines = linesPerInvocation
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	r := &spoolRun{t: t, ctx: ctx, be: startBackend(t), out: &lambdaemutest.Output{}, lines: o.lines}
	emu, err := lambdaemu.Start(lambdaemu.Config{
		FunctionName: "spool-e2e",
		// Long enough that a slow extension shows as post-runtime time
		// rather than as a timeout.
		Timeout:   10 * time.Second,
		Telemetry: o.telemetry,
	})
	require.NoError(t, err)
	r.emu = emu
	t.Cleanup(func() {
		_ = emu.Close() // kills the extension if it still runs, and waits for it
		if t.Failed() {
			t.Logf("extension output:\n%s\n%s\nemulator events:\n%s", r.out.String(), r.be.String(), eventSummary(emu.Events()))
		}
	})
	args := append(loopback.CollectorArgs(repoFile("collector-config.yaml"), freeAddr(t), freeAddr(t)), o.args...)
	r.proc, err = emu.StartExtension(bin, lambdaemu.ProcessOptions{
		Args: args,
		Env: []string{
			"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + r.be.Endpoint(),
			"OTELCOL_LAMBDA_FLUSH_STRATEGY=" + o.strategy,
			// The spool's directory is in the environment's own /tmp
			// (TMPDIR from the emulator, removed at Close).
		},
		Output: r.out,
		Freeze: true,
	})
	require.NoError(t, err)
	emu.RunRuntime(ctx, func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		for k := range o.lines {
			inv.Log(lineText(inv.RequestID, k, o.padding))
		}
		if o.handler != nil {
			o.handler(ctx, inv)
		}
		return []byte(`"ok"`), nil
	})
	return r
}

// invoke runs one invocation; mode, when set, is the backend's from now on.
func (r *spoolRun) invoke(mode *faultbackend.Mode) lambdaemu.InvokeResult {
	r.t.Helper()
	if mode != nil {
		require.NoError(r.t, r.be.SetMode(*mode))
	}
	res, err := r.emu.Invoke(r.ctx, lambdaemu.InvokeRequest{Payload: []byte(`{}`)})
	require.NoError(r.t, err, "invocation %d", len(r.ids)+1)
	require.Empty(r.t, res.LateExtensions, "invocation %d: the extension did not call next before the deadline", len(r.ids)+1)
	r.ids = append(r.ids, res.RequestID)
	return res
}

// shutdown sends SHUTDOWN, waits for the process to exit and checks it met
// the deadline.
func (r *spoolRun) shutdown() {
	r.t.Helper()
	sd, err := r.emu.Shutdown(r.ctx, "spindown")
	require.NoError(r.t, err)
	<-r.proc.Done()
	assert.True(r.t, sd.OK(), "SHUTDOWN must finish before its deadline: %+v", sd)
	assert.NotContains(r.t, r.out.String(), "panic")
}

// received counts, at the backend, the SERVER spans of each invocation and
// each function line.
type received struct {
	serverSpans map[string]int // faas.invocation_id -> SERVER spans
	lines       map[string]int // line -> log records with it as body
}

func (r *spoolRun) received() received {
	got := received{serverSpans: map[string]int{}, lines: map[string]int{}}
	r.be.ForEachSpan(func(_ pcommon.Resource, span ptrace.Span) {
		if span.Kind() != ptrace.SpanKindServer {
			return
		}
		id, _ := span.Attributes().Get("faas.invocation_id")
		got.serverSpans[id.Str()]++
	})
	r.be.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) {
		if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() == "function" {
			got.lines[lr.Body().AsString()]++
		}
	})
	return got
}

// tally compares what arrived with what each invocation of ids wrote.
type tally struct {
	expected, missing, duplicated int
	examples                      []string
}

func (r *spoolRun) tallyLines(got received, ids []string, padding int) tally {
	var ta tally
	for _, id := range ids {
		for k := range r.lines {
			ta.expected++
			switch n := got.lines[lineText(id, k, padding)]; {
			case n == 0:
				ta.missing++
				if len(ta.examples) < 3 {
					ta.examples = append(ta.examples, "missing "+lineText(id, k, 0))
				}
			case n > 1:
				ta.duplicated += n - 1
				if len(ta.examples) < 3 {
					ta.examples = append(ta.examples, fmt.Sprintf("%d times: %s", n, lineText(id, k, 0)))
				}
			}
		}
	}
	return ta
}

// requireDelivered checks that every invocation's server span and every
// line arrived: exactly once, or at least once when exactly is false.
func (r *spoolRun) requireDelivered(exactly bool, spanIDs []string) {
	r.t.Helper()
	got := r.received()
	for i, id := range spanIDs {
		n := got.serverSpans[id]
		if exactly {
			assert.Equal(r.t, 1, n, "invocation %d (%s): SERVER spans", i+1, id)
		} else {
			assert.GreaterOrEqual(r.t, n, 1, "invocation %d (%s): SERVER spans", i+1, id)
		}
	}
	ta := r.tallyLines(got, r.ids, 0)
	assert.Zero(r.t, ta.missing, "function lines missing of %d: %v", ta.expected, ta.examples)
	if exactly {
		assert.Zero(r.t, ta.duplicated, "function lines delivered twice: %v", ta.examples)
	} else if ta.duplicated > 0 {
		r.t.Logf("%d of %d lines arrived more than once (at-least-once after a hang): %v", ta.duplicated, ta.expected, ta.examples)
	}
}

// requireInvocationsCount checks the final faas.invocations.
func (r *spoolRun) requireInvocationsCount() {
	r.t.Helper()
	n, ok := r.be.lastSum("faas.invocations")
	require.True(r.t, ok, "faas.invocations exported")
	assert.Equal(r.t, int64(len(r.ids)), n, "final faas.invocations")
}

// requirePostRuntimeBounded checks the billed time the extension added
// after each response (from the emulator's event log, as lambda-bench
// computes it).
func (r *spoolRun) requirePostRuntimeBounded() {
	r.t.Helper()
	post := lambdaemu.PostRuntime(r.emu.Events(), r.proc.Name)
	assert.Len(r.t, post, len(r.ids), "a post-runtime time per invocation")
	for i, d := range post {
		assert.Less(r.t, d, postRuntimeBound, "invocation %d: post-runtime time", i+1)
	}
	r.t.Logf("post-runtime per invocation: %v", post)
}

// outageMode is the backend's mode before invocation i (from 1): fault
// during the outage, OK again after it.
func outageMode(i int, fault faultbackend.Mode) *faultbackend.Mode {
	ok := faultbackend.OK()
	switch i {
	case outageFrom:
		return &fault
	case outageTo + 1:
		return &ok
	}
	return nil
}

// TestOutageLosesNothing: the backend fails for invocations 2-4 of 8 (refused
// connections, 503, 429 with Retry-After, or a hang), then recovers. After
// SHUTDOWN every invocation's SERVER span, every function line and the final
// faas.invocations have arrived; each span and line exactly once (at least
// once after a hang: a request in flight at the freeze may have been taken).
func TestOutageLosesNothing(t *testing.T) {
	faults := []struct {
		name    string
		mode    faultbackend.Mode
		exactly bool
	}{
		{"refuse", faultbackend.Refuse(), true},
		{"503", faultbackend.Status(503), true},
		{"429_retry_after_1s", faultbackend.Throttle(time.Second), true},
		{"hang", faultbackend.Hang(), false},
	}
	for _, strategy := range flushStrategies {
		for _, f := range faults {
			t.Run(strategy+"/"+f.name, func(t *testing.T) {
				r := startSpoolRun(t, runOptions{strategy: strategy})
				for i := 1; i <= runInvocations; i++ {
					r.invoke(outageMode(i, f.mode))
				}
				r.shutdown()
				r.requireDelivered(f.exactly, r.ids)
				r.requireInvocationsCount()
				r.requirePostRuntimeBounded()
				if f.mode.Kind == faultbackend.KindStatus {
					assert.NotZero(t, r.be.Requests().Answered[f.mode.Status], "the fault was met")
				}
			})
		}
	}
}

// TestHangingBackendBoundsBilledTime: the backend accepts connections and
// never answers, from the second invocation to the end. Each invocation's
// post-runtime time stays bounded and SHUTDOWN still finishes before its
// deadline.
func TestHangingBackendBoundsBilledTime(t *testing.T) {
	for _, strategy := range flushStrategies {
		t.Run(strategy, func(t *testing.T) {
			r := startSpoolRun(t, runOptions{strategy: strategy})
			hang := faultbackend.Hang()
			for i := 1; i <= runInvocations; i++ {
				if i == outageFrom {
					r.invoke(&hang)
				} else {
					r.invoke(nil)
				}
			}
			r.requirePostRuntimeBounded()
			r.shutdown()
			assert.NotZero(t, r.be.Requests().Hung, "the hang was met")
		})
	}
}

// TestNothingReachesTheBackendWhileFrozen: in end mode everything an
// invocation exports is acknowledged before the extension lets Lambda
// freeze, and nothing is sent while frozen (on Lambda it would stall), so no
// request reaches a healthy backend while the emulator has the environment
// frozen.
func TestNothingReachesTheBackendWhileFrozen(t *testing.T) {
	r := startSpoolRun(t, runOptions{strategy: "end"})
	for range runInvocations {
		r.invoke(nil)
	}
	r.shutdown()
	events := r.emu.Events()
	arrivals := r.be.Arrivals()
	require.NotEmpty(t, arrivals)
	for _, a := range arrivals {
		assert.False(t, lambdaemu.WhileFrozen(events, a.Time), "%s request (%d items) arrived at %s, while frozen",
			a.Signal, a.Items, a.Time.Format("15:04:05.000000"))
	}
	assert.Empty(t, lambdaemu.ActivityWhileFrozen(events))
	r.requireDelivered(true, r.ids)
	r.requirePostRuntimeBounded()
}

// Drop counting, with a spool too small for an outage. The collector's own
// log goes to a file, so that the only log records are the function's lines
// (whose every loss the test can see).
const (
	// spoolDroppedMetric has the attributes signal and reason.
	spoolDroppedMetric = "otelcol.decouple.dropped_records"
	// The spool's bound in bytes (max_size) and a request size below it
	// (max_request_size must not exceed max_size).
	smallSpool        = 128 << 10
	smallSpoolRequest = 32 << 10
	// Lines of about 150 bytes, 200 per invocation: some 50 KB of log
	// records per invocation (one Telemetry API delivery, one spool item,
	// well below the bound), about three times the spool over the outage.
	spoolLines   = 200
	spoolPadding = 100
)

// TestSpoolFullDropsAreCounted: the backend refuses connections for
// invocations 2-7 of 8 and the spool holds 128 KiB: the oldest data is
// dropped. The exported otelcol.decouple.dropped_records{reason=spool_full}
// equals what is missing at the backend.
func TestSpoolFullDropsAreCounted(t *testing.T) {
	for _, strategy := range flushStrategies {
		t.Run(strategy, func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "collector.log")
			r := startSpoolRun(t, runOptions{
				strategy: strategy, lines: spoolLines, padding: spoolPadding,
				args: []string{
					fmt.Sprintf("--config=yaml:processors::decouple::max_size: %d", smallSpool),
					fmt.Sprintf("--config=yaml:processors::decouple::max_request_size: %d", smallSpoolRequest),
					"--config=yaml:service::telemetry::logs::output_paths: [" + logFile + "]",
					"--config=yaml:service::telemetry::logs::error_output_paths: [" + logFile + "]",
				},
			})
			t.Cleanup(func() {
				if b, err := os.ReadFile(logFile); err == nil && t.Failed() {
					t.Logf("collector log:\n%s", b)
				}
			})
			refuse, ok := faultbackend.Refuse(), faultbackend.OK()
			var outageStart time.Time
			for i := 1; i <= runInvocations; i++ {
				switch i {
				case outageFrom:
					outageStart = time.Now()
					r.invoke(&refuse)
				case runInvocations:
					r.invoke(&ok)
				default:
					r.invoke(nil)
				}
			}
			r.shutdown()

			got := r.received()
			ta := r.tallyLines(got, r.ids, spoolPadding)
			require.NotZero(t, ta.missing, "the outage must overflow a %d-byte spool", smallSpool)
			assert.Zero(t, ta.duplicated, ta.examples)
			// The only log records the spool can have dropped are function
			// lines: the other ones (Init's informational platform events)
			// arrived before the outage, and after Init the environment
			// emitted nothing else that becomes a log record.
			for _, a := range r.be.Arrivals() {
				if a.Signal != faultbackend.SignalLogs {
					continue
				}
				faultbackend.ForEachLog(a.Logs, func(_ pcommon.Resource, lr plog.LogRecord) {
					if typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type"); typ.Str() != "function" {
						assert.True(t, a.Time.Before(outageStart), "%s log record arrived after the outage began: %s", typ.Str(), lr.Body().AsString())
					}
				})
			}
			initEnded := false
			for _, e := range r.emu.Events() {
				switch {
				case e.Kind == lambdaemu.EventLifecycle && e.Detail == "init success":
					initEnded = true
				case initEnded && e.Kind == lambdaemu.EventRecord:
					assert.Contains(t, []string{"platform.start", "platform.runtimeDone", "platform.report", "function"}, e.Detail,
						"a record after Init that may become a log record")
				}
			}

			series := r.be.Latest(spoolDroppedMetric)
			logs, found := r.be.LastValue(spoolDroppedMetric, map[string]string{"reason": "spool_full", "signal": "logs"})
			require.True(t, found, "%s{reason=spool_full,signal=logs} exported; series: %+v", spoolDroppedMetric, series)
			assert.Equal(t, float64(ta.missing), logs, "log records dropped for a full spool vs missing at the backend; series: %+v", series)
			t.Logf("%d of %d function lines missing, %v log records dropped (spool_full)", ta.missing, ta.expected, logs)
			// A SERVER span that is missing was dropped with its trace's
			// other spans.
			missingSpans := 0
			for _, id := range r.ids {
				if got.serverSpans[id] == 0 {
					missingSpans++
				}
			}
			spans, _ := r.be.LastValue(spoolDroppedMetric, map[string]string{"reason": "spool_full", "signal": "traces"})
			assert.GreaterOrEqual(t, spans, float64(missingSpans), "spans dropped for a full spool vs SERVER spans missing")
			for _, reason := range []string{"shutdown", "write_failed", "corrupt", "rejected"} {
				n, _ := r.be.LastValue(spoolDroppedMetric, map[string]string{"reason": reason})
				assert.Zero(t, n, "records dropped as %s", reason)
			}
		})
	}
}

// TestDuplicateDeliveriesArriveOnce: Lambda re-delivers a Telemetry API batch
// it believes failed; here every batch comes twice. Every line, every SERVER
// span and every invocation is still counted once, and the duplicates are
// counted.
func TestDuplicateDeliveriesArriveOnce(t *testing.T) {
	for _, strategy := range flushStrategies {
		t.Run(strategy, func(t *testing.T) {
			r := startSpoolRun(t, runOptions{strategy: strategy, telemetry: lambdaemu.TelemetryConfig{DuplicateDeliveries: true}})
			for range runInvocations {
				r.invoke(nil)
			}
			r.shutdown()
			r.requireDelivered(true, r.ids)
			r.requireInvocationsCount()
			dups, found := r.be.LastValue("otelcol.lambdatelemetry.duplicate_records", nil)
			require.True(t, found, "otelcol.lambdatelemetry.duplicate_records exported")
			assert.Positive(t, dups)
		})
	}
}

// TestSIGTERMDuringAnInvocation: the extension gets SIGTERM while the third
// invocation runs, after the Telemetry API delivered its lines. With a
// healthy backend everything it had received arrives: every line of the three
// invocations and the SERVER spans of the two that ended.
func TestSIGTERMDuringAnInvocation(t *testing.T) {
	for _, strategy := range flushStrategies {
		t.Run(strategy, func(t *testing.T) {
			var r *spoolRun
			r = startSpoolRun(t, runOptions{strategy: strategy, handler: func(ctx context.Context, inv lambdaemu.Invocation) {
				if len(r.ids) != 2 {
					return
				}
				// Every function line emitted so far was accepted by the
				// extension's listener; then SIGTERM.
				for !allFunctionRecordsDelivered(r.emu.Events(), r.proc.Name) {
					select {
					case <-ctx.Done():
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
				if err := r.proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Errorf("SIGTERM: %v", err)
					return
				}
				select {
				case <-r.proc.Done():
				case <-ctx.Done():
				}
			}})
			for range 3 {
				r.invoke(nil)
			}
			select {
			case <-r.proc.Done():
			default:
				t.Fatal("the extension still runs after SIGTERM")
			}
			sd, err := r.emu.Shutdown(r.ctx, "spindown")
			require.NoError(t, err)
			assert.True(t, sd.OK(), "%+v", sd)
			assert.NoError(t, r.proc.ExitErr(), "SIGTERM is a normal stop")
			assert.NotContains(t, r.out.String(), "panic")
			r.requireDelivered(true, r.ids[:2])
		})
	}
}

// allFunctionRecordsDelivered reports whether every function record emitted
// so far was in a POST the subscriber name accepted.
func allFunctionRecordsDelivered(events []lambdaemu.Event, name string) bool {
	emitted, delivered := 0, 0
	for _, e := range events {
		switch {
		case e.Kind == lambdaemu.EventRecord && e.Detail == "function":
			emitted++
		case e.Kind == lambdaemu.EventDelivered && e.Party == name:
			delivered += countOf(strings.Split(e.Detail, ","), "function")
		}
	}
	return emitted > 0 && delivered >= emitted
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// eventSummary lists the emulator's events but the records, for failures.
func eventSummary(events []lambdaemu.Event) string {
	var b strings.Builder
	for _, e := range events {
		if e.Kind == lambdaemu.EventRecord && e.Detail == "function" {
			continue
		}
		fmt.Fprintf(&b, "%s %-9s %s %s", e.Time.Format("15:04:05.000000"), e.Kind, e.Party, e.Detail)
		if e.Count > 0 {
			fmt.Fprintf(&b, " (%d)", e.Count)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
