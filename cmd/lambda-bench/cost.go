package main

// The cost mode: what the extension costs per invocation against a backend
// that is healthy, refuses connections or hangs (internal/faultbackend), by
// log volume and invocation interval; how long a backlog takes to arrive
// after an outage; CPU per 1000 log lines; RSS after many invocations.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type costConfig struct {
	ext, config    string
	env            []string
	lines          []int
	intervals      []time.Duration
	backends       []faultbackend.Mode
	invocations    int
	rssInvocations int
	rssLines       int
	rssBackends    []faultbackend.Mode
	backlogDown    int
	backlogLines   int
	backlogWait    time.Duration
	timeout        time.Duration
	floor          bool
	warmup         int
	work           time.Duration // how long the function runs after logging
	verbose        bool
	// json: the function writes JSON lines (benchJSONLine), not plain text.
	json bool
}

// extensionFlags is the flag set of a measuring mode with what every mode
// takes: the extension, its collector config and its environment (the notes
// go into the help).
func extensionFlags(mode string, ext, config *string, extNote, envNote string) (*flag.FlagSet, *listFlag) {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	env := &listFlag{}
	fs.StringVar(ext, "extension", "", "extension binary to measure (required"+extNote+")")
	fs.StringVar(config, "config", "collector-config.yaml", "collector config for the extension (listeners are moved to loopback)")
	fs.Var(env, "env", "KEY=VALUE for the extension"+envNote+" (repeatable)")
	return fs, env
}

func costMain(args []string) error {
	var c costConfig
	fs, env := extensionFlags("cost", &c.ext, &c.config, "", ", e.g. OTELCOL_LAMBDA_FLUSH_STRATEGY=end")
	lines := fs.String("lines", "20,200,1000", "function log lines per invocation")
	intervals := fs.String("intervals", "100ms,2s", "time between invocation starts")
	backends := fs.String("backends", "ok,refuse,hang", "backend states (ok, refuse, hang, 503, 429:N)")
	fs.IntVar(&c.invocations, "invocations", 30, "invocations per row of the per-invocation table")
	fs.IntVar(&c.rssInvocations, "rss-invocations", 300, "invocations before RSS is read (0: skip)")
	fs.IntVar(&c.rssLines, "rss-lines", 200, "lines per invocation for the RSS runs (at the first interval)")
	rssBackends := fs.String("rss-backends", "ok,refuse", "backend states for the RSS runs")
	fs.IntVar(&c.backlogDown, "backlog-down", 10, "invocations with the backend refusing before it recovers (0: skip)")
	fs.IntVar(&c.backlogLines, "backlog-lines", 200, "lines per invocation for the backlog runs")
	fs.DurationVar(&c.backlogWait, "backlog-wait", 30*time.Second, "after recovery, invoke at the interval for at most this long waiting for the backlog")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "function timeout (post-runtime time counts against it)")
	fs.BoolVar(&c.floor, "floor", true, "run a null extension (register, then /event/next at once) beside the measured one: "+
		"the post-runtime time any extension shows on this machine under the same load")
	fs.DurationVar(&c.work, "function-time", 0, "how long the function runs after writing its lines (0: it answers at once, leaving the extension almost no thawed time)")
	fs.IntVar(&c.warmup, "warmup", 0, "leave the first N invocations of a session out of the post-runtime figures (the steady state)")
	fs.BoolVar(&c.verbose, "v", false, "print progress to stderr")
	fs.BoolVar(&c.json, "json", false, "the function writes JSON lines (the seed rule's fields, about 230 B; message: the plain line) instead of plain text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.ext == "" {
		return errors.New("--extension is required")
	}
	// Interrupted: stop the extension processes (they may be SIGSTOPped)
	// before leaving.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		closeOpenSessions()
		fmt.Fprintln(os.Stderr, "lambda-bench:", sig)
		os.Exit(130)
	}()
	c.env = *env
	var err error
	if c.lines, err = parseList(*lines, strconv.Atoi); err != nil {
		return fmt.Errorf("--lines: %w", err)
	}
	if c.intervals, err = parseList(*intervals, time.ParseDuration); err != nil {
		return fmt.Errorf("--intervals: %w", err)
	}
	if c.backends, err = parseList(*backends, faultbackend.ParseMode); err != nil {
		return fmt.Errorf("--backends: %w", err)
	}
	if c.rssBackends, err = parseList(*rssBackends, faultbackend.ParseMode); err != nil {
		return fmt.Errorf("--rss-backends: %w", err)
	}
	return c.run(os.Stdout)
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := parse(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *costConfig) progress(format string, args ...any) {
	if c.verbose {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

func (c *costConfig) run(w io.Writer) error {
	fmt.Fprintf(w, "extension `%s`, config `%s`, env `%s`, function timeout %s, function runs %s after logging\n\n", c.ext, c.config, strings.Join(c.env, " "), c.timeout, c.work)

	fmt.Fprintf(w, "### Billed time the extension adds per invocation\n\n")
	fmt.Fprintf(w, "%d invocations per row, one every interval (start to start; back to back when one takes longer). "+
		"Post-runtime: the runtime's response to the extension's next /event/next (0 when it was already waiting), "+
		"from the emulator's event log; p99 of %d samples is their maximum or next to it. "+
		"CPU: the extension's utime+stime (its process group) from ready (/proc/<pid>/stat) to exit (rusage, which counts the children it waited for), SHUTDOWN's drain included, "+
		"per 1000 function log lines (%s). Delivered: distinct lines at the backend after SHUTDOWN. "+
		"SHUTDOWN: in time, or killed at its deadline (2 s). With --warmup N the first N invocations of each session are left out of post-runtime and floor. "+
		"Floor (with --floor): a null extension's post-runtime median / p99 in the same session. "+
		"After runtimeDone: from the start of the delivery that brought the invocation's platform.runtimeDone to the extension's /event/next "+
		"(0 when it came first), median / p99: what the extension adds beyond Lambda's buffering. "+
		"Data age: from an invocation's start to the first arrival of each of its lines at the backend, median / max "+
		"(SHUTDOWN's drain included).\n\n",
		c.invocations, c.invocations, c.lineKind())
	fmt.Fprintln(w, "| lines/invocation | interval | backend | post-runtime median | p99 | after runtimeDone | floor | CPU per 1000 lines | lines delivered | data age | SHUTDOWN |")
	fmt.Fprintln(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, interval := range c.intervals {
		for _, mode := range c.backends {
			for _, lines := range c.lines {
				c.progress("cost: %d lines, every %s, backend %s", lines, interval, mode)
				r, err := c.session(lines, interval, c.invocations, mode)
				if err != nil {
					return fmt.Errorf("%d lines every %s, backend %s: %w", lines, interval, mode, err)
				}
				fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %d/%d | %s | %s |\n", lines, interval, mode,
					ms(percentile(r.post, 0.5)), ms(percentile(r.post, 0.99)), medianAnd(r.afterDone, 0.99), medianAnd(r.floor, 0.99), cpuPer1000(r.cpu, r.linesWritten), r.delivered, r.linesWritten,
					medianAnd(r.age, 1), shutdownText(r.shutdownOK))
			}
		}
	}

	if c.backlogDown > 0 {
		fmt.Fprintf(w, "\n### Backlog delivery after an outage\n\n")
		fmt.Fprintf(w, "One invocation with the backend up, %d with it refusing connections, then it recovers just before the next "+
			"invocation; invocations go on at the interval for up to %s or until every line written during the outage has arrived, "+
			"then SHUTDOWN. Time: recovery to the first arrival of the last of those lines (— when some never arrive).\n\n",
			c.backlogDown, c.backlogWait)
		fmt.Fprintln(w, "| lines/invocation | interval | down for | recovery → last backlog line | backlog lines delivered | invocations after recovery | SHUTDOWN |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|")
		for _, interval := range c.intervals {
			c.progress("backlog: %d lines, every %s", c.backlogLines, interval)
			r, err := c.backlogRow(interval)
			if err != nil {
				return fmt.Errorf("backlog every %s: %w", interval, err)
			}
			took := "—"
			if r.delivered == r.backlog {
				took = ms(r.took)
			}
			fmt.Fprintf(w, "| %d | %s | %d invocations | %s | %d/%d | %d | %s |\n", c.backlogLines, interval, c.backlogDown, took, r.delivered, r.backlog, r.after, shutdownText(r.shutdownOK))
		}
	}

	if c.rssInvocations > 0 && len(c.intervals) > 0 {
		interval := c.intervals[0]
		fmt.Fprintf(w, "\n### RSS after %d invocations\n\n", c.rssInvocations)
		fmt.Fprintf(w, "VmRSS of the extension's processes, %d lines per invocation, one every %s.\n\n", c.rssLines, interval)
		fmt.Fprintln(w, "| backend | RSS when ready | RSS after | post-runtime median | p99 | floor | CPU per 1000 lines | lines delivered | SHUTDOWN |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, mode := range c.rssBackends {
			c.progress("rss: %d invocations, backend %s", c.rssInvocations, mode)
			r, err := c.session(c.rssLines, interval, c.rssInvocations, mode)
			if err != nil {
				return fmt.Errorf("RSS, backend %s: %w", mode, err)
			}
			fmt.Fprintf(w, "| %s | %.1f MiB | %.1f MiB | %s | %s | %s | %s | %d/%d | %s |\n", mode, r.rssReady, r.rssEnd,
				ms(percentile(r.post, 0.5)), ms(percentile(r.post, 0.99)), medianAnd(r.floor, 0.99), cpuPer1000(r.cpu, r.linesWritten), r.delivered, r.linesWritten, shutdownText(r.shutdownOK))
		}
	}
	return nil
}

// sessionResult is what one extension process under the emulator measured.
type sessionResult struct {
	post             []time.Duration
	floor            []time.Duration // the null extension's post-runtime times (--floor)
	afterDone        []time.Duration // per invocation: the delivery of its platform.runtimeDone to the extension's /event/next
	age              []time.Duration // per delivered line: its invocation's start to its first arrival
	cpu              time.Duration   // ready to exit
	rssReady, rssEnd float64
	linesWritten     int
	delivered        int
	// shutdownOK: the process exited before SHUTDOWN's deadline (else killed).
	shutdownOK bool
	// backlog runs: lines written during the outage, invocations after the
	// recovery, recovery to the last of those lines
	backlog, after int
	took           time.Duration
}

// session runs n invocations of lines each, one every interval, with the
// backend in mode throughout, then SHUTDOWN.
func (c *costConfig) session(lines int, interval time.Duration, n int, mode faultbackend.Mode) (sessionResult, error) {
	s, err := c.start(lines)
	if err != nil {
		return sessionResult{}, err
	}
	defer s.close()
	if err := s.be.SetMode(mode); err != nil {
		return sessionResult{}, err
	}
	if err := s.invokeEvery(n, interval); err != nil {
		return sessionResult{}, err
	}
	var r sessionResult
	r.rssEnd = rssMiB(s.proc.Cmd.Process.Pid)
	if err := s.shutdown(&r); err != nil {
		return r, err
	}
	return r, nil
}

// backlogRow: 1 invocation up, backlogDown refused, then recovery.
func (c *costConfig) backlogRow(interval time.Duration) (sessionResult, error) {
	s, err := c.start(c.backlogLines)
	if err != nil {
		return sessionResult{}, err
	}
	defer s.close()
	if err := s.invokeEvery(1, interval); err != nil {
		return sessionResult{}, err
	}
	if err := s.be.SetMode(faultbackend.Refuse()); err != nil {
		return sessionResult{}, err
	}
	first := len(s.ids)
	if err := s.invokeEvery(c.backlogDown, interval); err != nil {
		return sessionResult{}, err
	}
	backlog := map[string]bool{}
	for _, id := range s.ids[first:] {
		for k := range s.lines {
			backlog[benchLine(id, k)] = true
		}
	}
	if err := s.be.SetMode(faultbackend.OK()); err != nil {
		return sessionResult{}, err
	}
	recovered := time.Now()
	var r sessionResult
	for time.Since(recovered) < c.backlogWait {
		if err := s.invokeEvery(1, interval); err != nil {
			return r, err
		}
		r.after++
		if got, _ := firstArrivals(s.be, backlog); len(got) == len(backlog) {
			break
		}
	}
	if err := s.shutdown(&r); err != nil {
		return r, err
	}
	got, last := firstArrivals(s.be, backlog)
	r.backlog, r.delivered, r.took = len(backlog), len(got), last.Sub(recovered)
	return r, nil
}

// firstArrivals maps each line of want that arrived to its first arrival,
// and returns the latest of those times.
func firstArrivals(be *faultbackend.Backend, want map[string]bool) (map[string]time.Time, time.Time) {
	got := map[string]time.Time{}
	var last time.Time
	for _, a := range be.Arrivals() {
		if a.Signal != faultbackend.SignalLogs {
			continue
		}
		faultbackend.ForEachLog(a.Logs, func(_ pcommon.Resource, lr plog.LogRecord) {
			body := lr.Body().AsString()
			if !want[body] && strings.HasPrefix(body, "{") {
				// A JSON line (--json) the extension sent unparsed.
				var v struct{ Message string }
				if json.Unmarshal([]byte(body), &v) == nil {
					body = v.Message
				}
			}
			if _, seen := got[body]; want[body] && !seen {
				got[body] = a.Time
				if a.Time.After(last) {
					last = a.Time
				}
			}
		})
	}
	return got, last
}

// benchSession is one extension process under the emulator, exporting to a
// fault backend.
type benchSession struct {
	c        *costConfig
	emu      *lambdaemu.Emulator
	proc     *lambdaemu.Process
	be       *faultbackend.Backend
	lines    int
	ids      []string
	readyCPU time.Duration
	rssReady float64
	output   *lambdaemutest.Output
	next     time.Time            // when the next invocation may start
	started  map[string]time.Time // when each invocation started, by request id
}

// lineKind describes the lines the function writes.
func (c *costConfig) lineKind() string {
	if c.json {
		return "JSON objects, about 230 B each"
	}
	return "plain text, about 100 B each"
}

// line is what the function writes for benchLine(id, k).
func (c *costConfig) line(id string, k int) string {
	if !c.json {
		return benchLine(id, k)
	}
	return fmt.Sprintf(`{"level":"info","message":%q,"event":"inference_success","service":"api","model_name":"resnet","label":"cat","duration_ms":%d}`,
		benchLine(id, k), 5+k%500)
}

// benchLine is the k-th line of invocation id: about 100 bytes, unique.
func benchLine(id string, k int) string {
	return fmt.Sprintf("bench line %05d of request %s: the quick brown fox jumps over the lazy dog", k, id)
}

func (c *costConfig) start(lines int) (*benchSession, error) {
	s := &benchSession{c: c, lines: lines, output: &lambdaemutest.Output{}, started: map[string]time.Time{}}
	sessionsMu.Lock()
	sessions[s] = true
	sessionsMu.Unlock()
	var err error
	if s.be, err = faultbackend.Start(); err != nil {
		return nil, err
	}
	if s.emu, err = lambdaemu.Start(lambdaemu.Config{FunctionName: "bench", Timeout: c.timeout}); err != nil {
		s.close()
		return nil, err
	}
	args, err := collectorArgs(c.config)
	if err != nil {
		s.close()
		return nil, err
	}
	// The spool goes to the emulated environment's own /tmp (its TMPDIR).
	env := append([]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + s.be.Endpoint()}, c.env...)
	if s.proc, err = s.emu.StartExtension(c.ext, lambdaemu.ProcessOptions{Args: args, Env: env, Output: s.output, Freeze: true}); err != nil {
		s.close()
		return nil, err
	}
	if c.floor {
		self, err := os.Executable()
		if err == nil {
			_, err = s.emu.StartExtension(self, lambdaemu.ProcessOptions{Args: []string{nullExtensionArg}, Output: s.output, Freeze: true})
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("null extension: %w", err)
		}
	}
	s.emu.RunRuntime(context.Background(), func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		for k := range lines {
			inv.Log(c.line(inv.RequestID, k))
		}
		time.Sleep(c.work)
		return []byte(`"ok"`), nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.emu.WaitInit(ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("init: %w; extension output:\n%s", err, s.output)
	}
	pid := s.proc.Cmd.Process.Pid
	s.readyCPU, s.rssReady = cpuTime(pid), rssMiB(pid)
	return s, nil
}

// invokeEvery runs n invocations, each starting interval after the one before.
func (s *benchSession) invokeEvery(n int, interval time.Duration) error {
	for range n {
		if d := time.Until(s.next); d > 0 {
			time.Sleep(d)
		}
		s.next = time.Now().Add(interval)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), s.c.timeout+time.Minute)
		res, err := s.emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(`{}`)})
		cancel()
		if err != nil {
			return fmt.Errorf("invoke: %w; extension output:\n%s", err, s.output)
		}
		s.ids = append(s.ids, res.RequestID)
		s.started[res.RequestID] = start
	}
	return nil
}

// shutdown ends the session and fills in what it measured.
func (s *benchSession) shutdown(r *sessionResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sd, err := s.emu.Shutdown(ctx, "spindown")
	if err != nil {
		return err
	}
	<-s.proc.Done()
	// The measured extension's outcome, not the null extension's (--floor).
	r.shutdownOK = true
	for _, p := range sd.Parties {
		if p.Subscribed && !p.Finished && p.Name != nullExtensionName {
			r.shutdownOK = false
		}
	}
	if st := s.proc.Cmd.ProcessState; st != nil {
		r.cpu = st.UserTime() + st.SystemTime() - s.readyCPU
	}
	r.post = steady(lambdaemu.PostRuntime(s.emu.Events(), s.proc.Name), s.c.warmup)
	r.afterDone = steady(afterRuntimeDone(s.emu.Events(), s.proc.Name), s.c.warmup)
	if s.c.floor {
		r.floor = steady(lambdaemu.PostRuntime(s.emu.Events(), nullExtensionName), s.c.warmup)
	}
	r.rssReady = s.rssReady
	r.linesWritten = len(s.ids) * s.lines
	want := map[string]bool{}
	lineOf := map[string]string{} // line -> its request id
	for _, id := range s.ids {
		for k := range s.lines {
			want[benchLine(id, k)] = true
			lineOf[benchLine(id, k)] = id
		}
	}
	got, _ := firstArrivals(s.be, want)
	r.delivered = len(got)
	for line, at := range got {
		r.age = append(r.age, at.Sub(s.started[lineOf[line]]))
	}
	return nil
}

var (
	sessionsMu sync.Mutex
	sessions   = map[*benchSession]bool{}
)

func closeOpenSessions() {
	sessionsMu.Lock()
	defer sessionsMu.Unlock()
	for s := range sessions {
		s.closeResources()
	}
}

func (s *benchSession) close() {
	sessionsMu.Lock()
	delete(sessions, s)
	sessionsMu.Unlock()
	s.closeResources()
}

func (s *benchSession) closeResources() {
	if s.emu != nil {
		_ = s.emu.Close()
	}
	if s.be != nil {
		_ = s.be.Close()
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// afterRuntimeDone returns, invocation by invocation, the time from the start
// of the delivery that brought platform.runtimeDone after the runtime's
// result to the extension's first /event/next after the INVOKE, or zero when
// that call came first: what an extension adds beyond Lambda's buffering.
func afterRuntimeDone(events []lambdaemu.Event, name string) []time.Duration {
	var out []time.Duration
	var invoked, result, done, next bool
	var doneAt time.Time
	var d time.Duration
	flush := func() {
		if invoked {
			out = append(out, d)
		}
	}
	for _, e := range events {
		switch {
		case e.Kind == lambdaemu.EventLifecycle && strings.HasPrefix(e.Detail, "invoke "):
			flush()
			invoked, result, done, next, d = true, false, false, false, 0
		case !invoked || next:
		case e.Kind == lambdaemu.EventAPI && e.Party == "runtime" && (strings.HasSuffix(e.Detail, "/response") || strings.HasSuffix(e.Detail, "/error")):
			result = true
		case e.Kind == lambdaemu.EventDelivery && e.Party == name && result && !done && strings.Contains(e.Detail, "platform.runtimeDone"):
			done, doneAt = true, e.Time
		case e.Kind == lambdaemu.EventAPI && e.Party == name && strings.HasSuffix(e.Detail, "/extension/event/next"):
			next = true
			if done {
				d = e.Time.Sub(doneAt)
			}
		}
	}
	flush()
	return out
}

// steady leaves out the first n samples (never all of them).
func steady(d []time.Duration, n int) []time.Duration {
	return d[min(n, max(len(d)-1, 0)):]
}

// medianAnd is "median / the top quantile" of d, or — without samples.
func medianAnd(d []time.Duration, top float64) string {
	if len(d) == 0 {
		return "—"
	}
	return ms(percentile(d, 0.5)) + " / " + ms(percentile(d, top))
}

func shutdownText(ok bool) string {
	if ok {
		return "in time"
	}
	return "killed"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func cpuPer1000(cpu time.Duration, lines int) string {
	if lines == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f ms", float64(cpu)/1e6/float64(lines)*1000)
}
