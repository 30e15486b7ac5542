package decoupleprocessor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

var errBackendDown = errors.New("connection refused")

// backend stands for the exporter: it takes logs, or fails on demand.
type backend struct {
	mu       sync.Mutex
	hold     chan struct{} // when set, each call waits for it to close (or for its context)
	fail     error         // returned while set
	failNext int           // fail only this many more calls (with fail), then accept
	reject   string        // a request holding a record with this body is refused for good
	calls    int           // calls begun, so tests can see a request in flight
	requests []int         // records per answered call
	accepted []string      // bodies accepted, in order
}

func (b *backend) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (b *backend) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b.mu.Lock()
	b.calls++
	hold := b.hold
	b.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = append(b.requests, ld.LogRecordCount())
	if b.fail != nil && b.failNext != 0 {
		b.failNext--
		return b.fail
	}
	got := bodies(ld)
	if b.reject != "" && slices.Contains(got, b.reject) {
		return consumererror.NewPermanent(errors.New("400 Bad Request"))
	}
	b.accepted = append(b.accepted, got...)
	return nil
}

// failing makes every call fail with err from now on (nil: none).
func (b *backend) failing(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail, b.failNext = err, -1
}

func (b *backend) state() (calls int, requests []int, accepted []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, slices.Clone(b.requests), slices.Clone(b.accepted)
}

func (b *backend) callCount() int { c, _, _ := b.state(); return c }

func bodies(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().Str())
			}
		}
	}
	return out
}

func logs(body ...string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, b := range body {
		lrs.AppendEmpty().Body().SetStr(b)
	}
	return ld
}

// harness is one logs pipeline's decouple processor in front of a backend.
type harness struct {
	t        *testing.T
	registry *lambdalifecycle.Registry
	factory  processor.Factory
	cfg      *Config
	be       *backend
	p        processor.Logs
}

// newHarness creates the processor without starting it. Backoff intervals
// are an hour: after two failures a route waits for the test, not the clock.
func newHarness(t *testing.T, dir string, configure ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, registry: &lambdalifecycle.Registry{}, be: &backend{}}
	h.factory = newFactory(h.registry)
	h.cfg = h.factory.CreateDefaultConfig().(*Config)
	h.cfg.Directory = dir
	h.cfg.Retry.InitialInterval, h.cfg.Retry.MaxInterval = time.Hour, time.Hour
	for _, c := range configure {
		c(h.cfg)
	}
	require.NoError(t, h.cfg.Validate())
	var err error
	h.p, err = h.factory.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), h.cfg, h.be)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, h.p.Shutdown(context.Background())) })
	return h
}

func startHarness(t *testing.T, configure ...func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, t.TempDir(), configure...)
	h.start()
	return h
}

func (h *harness) start() {
	require.NoError(h.t, h.p.Start(context.Background(), componenttest.NewNopHost()))
}

func (h *harness) consume(body ...string) {
	require.NoError(h.t, h.p.ConsumeLogs(context.Background(), logs(body...)))
}

func (h *harness) decoupler() *decoupler { return h.p.(logsProcessor).d }

func (h *harness) drain(ctx context.Context, mode lambdalifecycle.Mode) error {
	return h.registry.Drain(ctx, mode)
}

// stat returns the value of the stat with name whose attributes include attrs.
func (h *harness) stat(name string, attrs map[string]string) float64 {
	for _, s := range h.registry.Stats() {
		if s.Name == name && matches(s.Attributes, attrs) {
			return s.Value
		}
	}
	h.t.Fatalf("no stat %s%v in %+v", name, attrs, h.registry.Stats())
	return 0
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (h *harness) dropped(reason spool.Reason) float64 {
	return h.stat("otelcol.decouple.dropped_records", map[string]string{"signal": "logs", "reason": reason.String()})
}

func (h *harness) held() float64 { return h.stat("otelcol.decouple.spool.records", nil) }

// failing reports the logs sender's state, as Blocking drains see it.
func (h *harness) failing() bool {
	s := h.decoupler().senderList()[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing()
}

// returnsAtOnce runs a drain that must not wait (for the backend, or for a
// deadline: it has none), and fails the test instead of hanging if it does.
func returnsAtOnce(t *testing.T, msg string, drain func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- drain() }()
	var err error
	require.Eventually(t, func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, msg)
	return err
}

func (h *harness) returnsAtOnce(mode lambdalifecycle.Mode, msg string) {
	h.t.Helper()
	require.NoError(h.t, returnsAtOnce(h.t, msg, func() error { return h.drain(context.Background(), mode) }), msg)
}

// spoolItems writes items to dir as an earlier process would have left them.
func spoolItems(t *testing.T, dir string, items ...plog.Logs) {
	t.Helper()
	s, err := spool.Open(dir, spool.Options{MaxSize: 1 << 20, OnDrop: func(spool.Route, spool.Reason, int) {}, OnRemove: func() {}})
	require.NoError(t, err)
	for _, ld := range items {
		b, err := logsSignal.marshal(ld)
		require.NoError(t, err)
		_, err = s.Put(routeLogs, b, ld.LogRecordCount())
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
}

// The function's export returns while the backend is still busy; a
// Blocking drain returns once everything accepted before it was delivered.
func TestAcceptsAtOnceAndBlockingDrainWaits(t *testing.T) {
	h := startHarness(t)
	assert.Equal(t, 1, h.registry.Len())
	hold := make(chan struct{})
	h.be.hold = hold
	for _, b := range []string{"a", "b", "c"} {
		h.consume(b+"1", b+"2")
	}
	_, _, accepted := h.be.state()
	assert.Empty(t, accepted, "nothing reaches the backend on the caller's path")

	drained := make(chan error)
	go func() { drained <- h.drain(context.Background(), lambdalifecycle.Blocking) }()
	close(hold)
	require.NoError(t, <-drained)
	_, _, accepted = h.be.state()
	assert.Equal(t, []string{"a1", "a2", "b1", "b2", "c1", "c2"}, accepted)
	assert.Zero(t, h.held())

	require.NoError(t, h.p.Shutdown(context.Background()))
	assert.Zero(t, h.registry.Len(), "shutdown removes the hook")
	assert.Empty(t, h.registry.Stats(), "and the stats")
}

// After a success, the first retry goes at once (a connection reset by the
// freeze): a Blocking drain sees the data delivered by the second call,
// although the backoff is an hour.
func TestFirstRetryAfterSuccessIsImmediate(t *testing.T) {
	h := startHarness(t)
	h.be.fail, h.be.failNext = errors.New("EOF"), 1
	h.consume("x")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, h.drain(ctx, lambdalifecycle.Blocking))
	calls, _, accepted := h.be.state()
	assert.Equal(t, []string{"x"}, accepted)
	assert.Equal(t, 2, calls)
	assert.Equal(t, 1.0, h.stat("otelcol.decouple.export_failures", nil))
}

// A route that failed twice in a row is failing: Blocking drains return at
// once, Background drains respect the backoff, and the data stays. A Final
// drain still tries.
func TestBlockingDrainDoesNotWaitForAFailingBackend(t *testing.T) {
	h := startHarness(t)
	h.be.failing(errBackendDown)
	h.consume("x", "y")
	assert.Eventually(t, func() bool { return h.be.callCount() >= 2 }, 10*time.Second, time.Millisecond)
	h.returnsAtOnce(lambdalifecycle.Blocking, "failing: no wait")
	h.returnsAtOnce(lambdalifecycle.Background, "background")
	h.returnsAtOnce(lambdalifecycle.Blocking, "still failing: no wait")
	assert.Equal(t, 2.0, h.held())
	assert.Zero(t, h.dropped(spool.Rejected)+h.dropped(spool.Shutdown))

	h.be.failing(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, h.drain(ctx, lambdalifecycle.Final), "the failing state does not stop a final drain")
	_, _, accepted := h.be.state()
	assert.Equal(t, []string{"x", "y"}, accepted)
}

// The backlog a flush policy sees: what could leave now. Held data of a
// failing route is not part of it (waiting for it would not help); it is
// again once the route delivers.
func TestBacklogLeavesOutFailingRoutes(t *testing.T) {
	h := startHarness(t)
	assert.True(t, h.registry.Oldest().IsZero(), "empty")
	hold := make(chan struct{})
	h.be.hold = hold
	before := time.Now()
	h.consume("x")
	assert.Eventually(t, func() bool { return h.be.callCount() == 1 }, 10*time.Second, time.Millisecond)
	assert.False(t, h.registry.Oldest().Before(before), "in flight to a healthy backend: a backlog, accepted after %v", before)
	close(hold)
	assert.Eventually(t, func() bool { return h.registry.Oldest().IsZero() }, 10*time.Second, time.Millisecond, "delivered")

	h.be.failing(errBackendDown)
	h.consume("y")
	assert.Eventually(t, func() bool { return h.be.callCount() >= 3 }, 10*time.Second, time.Millisecond)
	assert.Eventually(t, func() bool { return h.registry.Oldest().IsZero() }, 10*time.Second, time.Millisecond,
		"a failing route's data is not a backlog to wait for")
	assert.Equal(t, 1.0, h.held(), "yet it is held")
}

// A hanging backend costs the flush budget once: a Blocking drain that ends
// with a request in flight marks the route failing, and the next drains do
// not wait for it until it has succeeded.
func TestHangingBackendCostsTheBudgetOnce(t *testing.T) {
	h := startHarness(t)
	hold := make(chan struct{})
	h.be.hold = hold
	h.consume("x")
	assert.Eventually(t, func() bool { return h.be.callCount() == 1 }, 10*time.Second, time.Millisecond)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	// The registry skips hooks once ctx has ended; the hook itself sees the
	// budget end while it waits.
	require.NoError(t, h.decoupler().drain(ended, lambdalifecycle.Blocking), "held data is not an error")
	assert.True(t, h.failing())
	h.returnsAtOnce(lambdalifecycle.Blocking, "must not wait again")
	assert.Equal(t, 1, h.be.callCount(), "the request in flight was not cancelled")

	close(hold)
	assert.Eventually(t, func() bool { return !h.failing() }, 10*time.Second, time.Millisecond, "the request succeeded")
	assert.Zero(t, h.held())
	h.consume("y")
	require.NoError(t, h.drain(context.Background(), lambdalifecycle.Blocking), "healthy again: waits")
	_, _, accepted := h.be.state()
	assert.Equal(t, []string{"x", "y"}, accepted)
}

// Items an earlier process left are sent, merged; when the backend refuses
// the merged request for good, each item is retried alone once, and only
// the bad one is dropped.
func TestPermanentRefusalSplitsTheRequest(t *testing.T) {
	dir := t.TempDir()
	spoolItems(t, dir, logs("good1"), logs("bad"), logs("good2", "good3"))
	h := newHarness(t, dir)
	h.be.reject = "bad"
	h.start()
	require.NoError(t, h.drain(context.Background(), lambdalifecycle.Blocking))
	_, requests, accepted := h.be.state()
	assert.Equal(t, []int{4, 1, 1, 2}, requests)
	assert.Equal(t, []string{"good1", "good2", "good3"}, accepted)
	assert.Equal(t, 1.0, h.dropped(spool.Rejected))
	assert.Equal(t, 2.0, h.stat("otelcol.decouple.export_failures", nil))
	assert.Zero(t, h.held())
}

// Consecutive items are merged into requests of at most max_request_size
// bytes of payload.
func TestMergesUpToMaxRequestSize(t *testing.T) {
	dir := t.TempDir()
	var items []plog.Logs
	for _, b := range []string{"a", "b", "c", "d", "e"} {
		items = append(items, logs(b))
	}
	spoolItems(t, dir, items...)
	one, err := logsSignal.marshal(logs("a"))
	require.NoError(t, err)
	h := newHarness(t, dir, func(c *Config) { c.MaxRequestSize = int64(2 * len(one)) })
	h.start()
	require.NoError(t, h.drain(context.Background(), lambdalifecycle.Blocking))
	_, requests, accepted := h.be.state()
	assert.Equal(t, []int{2, 2, 1}, requests)
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, accepted)
}

// A Final drain sends what it can; what it cannot is dropped, counted as
// shutdown, deleted, and reported.
func TestFinalCountsWhatItCouldNotSend(t *testing.T) {
	h := startHarness(t)
	h.be.failing(errBackendDown)
	h.consume("a", "b")
	h.consume("c", "d", "e")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The flush retries at once, then would wait the 1 h backoff: longer
	// than the time left, so it gives up without waiting.
	err := h.drain(ctx, lambdalifecycle.Final)
	require.ErrorContains(t, err, "5 records could not be sent")
	assert.Equal(t, 5.0, h.dropped(spool.Shutdown))
	assert.Zero(t, h.held())
	files, _ := filepath.Glob(filepath.Join(h.cfg.Directory, "*.item"))
	assert.Empty(t, files)

	calls := h.be.callCount()
	h.be.failing(nil)
	h.consume("late")
	require.NoError(t, h.p.Shutdown(context.Background()))
	assert.Equal(t, calls, h.be.callCount(), "after a Final drain nothing sends, Shutdown included")
	assert.Equal(t, int64(6), h.decoupler().dropped[routeLogs][spool.Shutdown].Load(), "data spooled after the Final drain is counted as dropped")
	files, _ = filepath.Glob(filepath.Join(h.cfg.Directory, "*.item"))
	assert.Empty(t, files)
}

// A throttle delay longer than the time left ends a Final drain at once.
func TestFinalHonoursThrottle(t *testing.T) {
	h := startHarness(t)
	h.be.failing(exporterhelper.NewThrottleRetry(errors.New("429 Too Many Requests"), time.Hour))
	h.consume("a")
	assert.Eventually(t, func() bool { return h.be.callCount() == 1 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.Error(t, h.drain(ctx, lambdalifecycle.Final))
	assert.Equal(t, 1, h.be.callCount(), "no request against the backend's throttle")
	assert.Equal(t, 1.0, h.dropped(spool.Shutdown))
}

// At a Final drain's deadline the request in flight is cancelled, so the
// drain returns in time.
func TestFinalCancelsTheRequestInFlight(t *testing.T) {
	h := startHarness(t)
	h.be.hold = make(chan struct{}) // never released
	h.consume("a")
	assert.Eventually(t, func() bool { return h.be.callCount() == 1 }, 10*time.Second, time.Millisecond)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	err := returnsAtOnce(t, "the deadline has passed", func() error { return h.decoupler().drain(ended, lambdalifecycle.Final) })
	require.ErrorContains(t, err, "1 records could not be sent")
	assert.Equal(t, 1.0, h.dropped(spool.Shutdown))
}

// Shutdown (no Final drain) sends what is queued, within shutdown_timeout.
func TestShutdownSendsWhatIsQueued(t *testing.T) {
	h := startHarness(t)
	hold := make(chan struct{})
	h.be.hold = hold
	var want []string
	for _, b := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		h.consume(b)
		want = append(want, b)
	}
	close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.cfg.ShutdownTimeout = time.Minute
	require.NoError(t, h.p.Shutdown(ctx))
	_, _, accepted := h.be.state()
	assert.Equal(t, want, accepted)
}

// What Shutdown cannot send stays on disk, and the next process sends it.
func TestShutdownLeavesUnsentDataForTheNextProcess(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir)
	h.start()
	h.be.failing(errBackendDown)
	h.consume("a", "b")
	h.consume("c")
	require.NoError(t, h.p.Shutdown(context.Background()))
	files, _ := filepath.Glob(filepath.Join(dir, "*.item"))
	assert.Len(t, files, 2)
	_, _, accepted := h.be.state()
	assert.Empty(t, accepted)

	next := newHarness(t, dir)
	next.start()
	require.NoError(t, next.drain(context.Background(), lambdalifecycle.Blocking))
	_, _, accepted = next.be.state()
	assert.Equal(t, []string{"a", "b", "c"}, accepted)
	assert.Zero(t, next.dropped(spool.Corrupt))
}

// When the spool is full the oldest data goes, counted exactly.
func TestFullSpoolDropsTheOldest(t *testing.T) {
	one, err := logsSignal.marshal(logs("0000"))
	require.NoError(t, err)
	const fileHeader = 28
	h := startHarness(t, func(c *Config) {
		c.MaxSize = int64(3 * (fileHeader + len(one)))
		c.MaxRequestSize = c.MaxSize
	})
	h.be.failing(errBackendDown)
	for _, b := range []string{"0001", "0002", "0003", "0004", "0005"} {
		h.consume(b)
	}
	assert.Equal(t, 3.0, h.held())
	// Two dropped for room, unless one was in flight when it was evicted:
	// then its loss is counted when that request fails.
	assert.Eventually(t, func() bool { return h.dropped(spool.SpoolFull) == 2 }, 10*time.Second, time.Millisecond)

	h.be.failing(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, h.drain(ctx, lambdalifecycle.Final))
	_, _, accepted := h.be.state()
	assert.Equal(t, []string{"0003", "0004", "0005"}, accepted)
}

func TestStats(t *testing.T) {
	h := newHarness(t, t.TempDir())
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	h.decoupler().now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h.start()
	h.be.failing(errBackendDown)
	assert.Zero(t, h.stat("otelcol.decouple.spool.oldest_age", nil), "0 when empty")
	h.consume("a", "b")
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	h.consume("c")
	id := map[string]string{"decouple": "decouple"}
	assert.Eventually(t, func() bool { return h.stat("otelcol.decouple.export_failures", id) >= 2 }, 10*time.Second, time.Millisecond)

	assert.Equal(t, 5.0, h.stat("otelcol.decouple.spool.oldest_age", id))
	assert.Equal(t, 3.0, h.stat("otelcol.decouple.spool.records", id))
	assert.Positive(t, h.stat("otelcol.decouple.spool.size", id))
	byName := map[string]lambdalifecycle.Stat{}
	for _, s := range h.registry.Stats() {
		byName[s.Name] = s
	}
	assert.Equal(t, "By", byName["otelcol.decouple.spool.size"].Unit)
	assert.False(t, byName["otelcol.decouple.spool.size"].Cumulative)
	assert.True(t, byName["otelcol.decouple.dropped_records"].Cumulative)
	assert.True(t, byName["otelcol.decouple.export_failures"].Cumulative)
	for _, r := range []spool.Reason{spool.SpoolFull, spool.Rejected, spool.Shutdown, spool.WriteFailed, spool.Corrupt} {
		assert.Zero(t, h.dropped(r), "every reason of a sending signal is reported, zeros included")
	}
	for _, s := range h.registry.Stats() {
		assert.NotEqual(t, "traces", s.Attributes["signal"], "no pipeline of traces: no zero series")
	}
}

// The collector's own meter counts the drops too (a gateway's view).
func TestDropsOnTheCollectorMeter(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	registry := &lambdalifecycle.Registry{}
	f := newFactory(registry)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	be := &backend{}
	be.failing(errBackendDown)
	p, err := f.CreateLogs(context.Background(), set, cfg, be)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), logs("a", "b")))
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, p.(logsProcessor).d.drain(ended, lambdalifecycle.Final))
	require.NoError(t, p.Shutdown(context.Background()))
	m, err := tel.GetMetric("otelcol.decouple.dropped_records")
	require.NoError(t, err)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%T", m.Data)
	want := attribute.NewSet(attribute.String("decouple", "decouple"), attribute.String("signal", "logs"), attribute.String("reason", "shutdown"))
	require.Len(t, sum.DataPoints, 1)
	assert.True(t, sum.DataPoints[0].Attributes.Equals(&want), "%v", sum.DataPoints[0].Attributes)
	assert.Equal(t, int64(2), sum.DataPoints[0].Value)
}

// One decouple config in the traces, metrics and logs pipelines is one
// spool: one hook, one set of stats, open until the last Shutdown.
func TestOneSpoolForAllSignals(t *testing.T) {
	registry := &lambdalifecycle.Registry{}
	f := newFactory(registry)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	set := processortest.NewNopSettings(metadata.Type)
	traces, metrics, logsSink := &consumertest.TracesSink{}, &consumertest.MetricsSink{}, &consumertest.LogsSink{}
	tp, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	mp, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
	require.NoError(t, err)
	lp, err := f.CreateLogs(context.Background(), set, cfg, logsSink)
	require.NoError(t, err)
	for _, c := range []component.Component{tp, mp, lp} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	assert.Equal(t, 1, registry.Len())
	sizes := 0
	for _, s := range registry.Stats() {
		if s.Name == "otelcol.decouple.spool.size" {
			sizes++
		}
	}
	assert.Equal(t, 1, sizes)

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	require.NoError(t, tp.ConsumeTraces(context.Background(), td))
	require.NoError(t, mp.ConsumeMetrics(context.Background(), md))
	require.NoError(t, lp.ConsumeLogs(context.Background(), logs("l")))
	require.NoError(t, registry.Drain(context.Background(), lambdalifecycle.Blocking))
	assert.Equal(t, 1, traces.SpanCount())
	assert.Equal(t, 1, metrics.DataPointCount())
	assert.Equal(t, 1, logsSink.LogRecordCount())

	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Equal(t, 1, registry.Len(), "open until the last Shutdown")
	require.NoError(t, mp.ConsumeMetrics(context.Background(), md), "a later pipeline still spools")
	require.ErrorIs(t, tp.ConsumeTraces(context.Background(), td), errNotRunning)
	require.NoError(t, mp.Shutdown(context.Background()))
	require.NoError(t, lp.Shutdown(context.Background()))
	assert.Equal(t, 2, metrics.DataPointCount(), "the last Shutdown sent it")
	assert.Zero(t, registry.Len())
}

// One config in two pipelines of one signal cannot share a spool.
func TestSameConfigTwiceInOneSignal(t *testing.T) {
	f := newFactory(&lambdalifecycle.Registry{})
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(metadata.Type)
	first, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "decouple is used in two logs pipelines; give each its own name (decouple/a, decouple/b)")
	require.NoError(t, first.Shutdown(context.Background()))
	again, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err, "a shut down instance frees its signal")
	require.NoError(t, again.Shutdown(context.Background()))
}

func TestDefaultDirectory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := newFactory(&lambdalifecycle.Registry{})
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("decouple", "a/b")
	p, err := f.CreateLogs(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.Shutdown(context.Background()))
	info, err := os.Stat(filepath.Join(tmp, "otelcol-lambda", "decouple_a_b"))
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func TestCapabilities(t *testing.T) {
	f := NewFactory()
	set := processortest.NewNopSettings(f.Type())
	tp, err := f.CreateTraces(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	assert.True(t, tp.Capabilities().MutatesData, "it keeps the newest data and moves it into requests")
	require.NoError(t, tp.Shutdown(context.Background()), "shutdown without start")
}

func TestKeptItems(t *testing.T) {
	k := keptItems[string]{max: 10}
	k.keep(1, "a", 4)
	k.keep(2, "b", 4)
	k.keep(3, "c", 4) // over max: the oldest goes
	_, ok := k.take(1)
	assert.False(t, ok, "forgotten to stay within max")
	got, ok := k.take(3)
	assert.True(t, ok)
	assert.Equal(t, "c", got)
	_, ok = k.take(2)
	assert.False(t, ok, "older than one sent: sent or read from its file already")
	assert.Zero(t, k.bytes)
	assert.Empty(t, k.items)

	k.keep(4, "too big", 11)
	_, ok = k.take(4)
	assert.False(t, ok, "larger than max: never kept")
}
