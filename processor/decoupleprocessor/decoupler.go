package decoupleprocessor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

// decoupler is the spool shared by the pipelines of one decouple config: one
// store, one sender per route (signal), one drain hook, one set of stats. It
// opens at the first Start and closes at the last Shutdown, once.
type decoupler struct {
	id       component.ID
	cfg      *Config
	logger   *zap.Logger
	registry *lambdalifecycle.Registry
	now      func() time.Time // enqueue times and ages; tests set it

	routes map[spool.Route]bool // routes with a pipeline; guarded by decouplers.mu

	dropped        [numRoutes][spool.NumReasons]atomic.Int64
	failedRequests atomic.Int64
	droppedCounter metric.Int64Counter
	dropOpts       [numRoutes][spool.NumReasons]metric.AddOption
	// warned[r]: a drop for reason r was logged since data was last delivered.
	warned  [spool.NumReasons]atomic.Bool
	changed notifier

	mu      sync.Mutex
	started int
	closed  bool
	finaled bool // a Final drain ran: Shutdown does not send again
	store   *spool.Store
	senders map[spool.Route]*sender

	unregister []func()
	// halt ends the senders' loops after the request in flight; cancelSends
	// cancels that request (at a drain's or Shutdown's deadline).
	halt        chan struct{}
	haltOnce    sync.Once
	sendCtx     context.Context
	cancelSends context.CancelFunc
	workers     sync.WaitGroup
}

func newDecoupler(set processor.Settings, cfg *Config, registry *lambdalifecycle.Registry) (*decoupler, error) {
	counter, err := set.MeterProvider.Meter(metadata.ScopeName).Int64Counter("otelcol.decouple.dropped_records",
		metric.WithDescription("Records the decouple processor accepted and dropped without delivering them, by reason."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, fmt.Errorf("decouple: creating telemetry: %w", err)
	}
	d := &decoupler{
		id: set.ID, cfg: cfg, logger: set.Logger, registry: registry, now: time.Now,
		routes:         map[spool.Route]bool{},
		droppedCounter: counter,
		senders:        map[spool.Route]*sender{},
		halt:           make(chan struct{}),
	}
	d.sendCtx, d.cancelSends = context.WithCancel(context.Background())
	for route := range numRoutes {
		for r := range spool.NumReasons {
			d.dropOpts[route][r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("decouple", set.ID.String()),
				attribute.String("signal", routeNames[route]), attribute.String("reason", r.String())))
		}
	}
	return d, nil
}

// start opens the spool at the first call and starts route's sender.
func (d *decoupler) start(route spool.Route, req requestBuilder) (*sender, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("decouple: %s was already shut down", d.id)
	}
	if d.started == 0 {
		if err := d.open(); err != nil {
			return nil, err
		}
	}
	d.started++
	s := &sender{d: d, route: route, name: routeNames[route], req: req, wake: make(chan struct{}, 1)}
	d.senders[route] = s
	d.workers.Go(s.run)
	return s, nil
}

func (d *decoupler) open() error {
	dir := d.cfg.Directory
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "otelcol-lambda", strings.ReplaceAll(d.id.String(), "/", "_"))
	}
	store, err := spool.Open(dir, spool.Options{
		MaxSize:  d.cfg.MaxSize,
		Logger:   d.logger,
		Now:      d.now,
		OnDrop:   d.countDrop,
		OnRemove: d.changed.broadcast,
	})
	if err != nil {
		return fmt.Errorf("decouple: %w", err)
	}
	d.store = store
	d.unregister = []func(){
		d.registry.Register(d.id.String(), lambdalifecycle.StageExport, d.drain),
		d.registry.RegisterStats(d.stats),
		d.registry.RegisterBacklog(d.backlog),
	}
	return nil
}

// stop closes the spool when the last started instance stops.
func (d *decoupler) stop(ctx context.Context) error {
	d.mu.Lock()
	d.started--
	last := d.started == 0
	if last {
		d.closed = true
	}
	d.mu.Unlock()
	if !last {
		return nil
	}
	for _, unregister := range d.unregister {
		unregister()
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ShutdownTimeout)
	defer cancel()
	d.stopSenders(ctx)
	d.mu.Lock()
	finaled := d.finaled
	d.mu.Unlock()
	if finaled {
		// The environment ends: what came after the final drain (a
		// component's last emission) has nowhere to go. Count it.
		if n := d.store.DropAll(spool.Shutdown); n > 0 {
			d.logger.Error("Data arrived after the final flush; dropping it",
				zap.String("decouple", d.id.String()), zap.Int("records", n))
		}
	} else {
		d.flush(ctx)
	}
	d.cancelSends()
	left := d.store.Stats()
	err := d.store.Close()
	if left.Records > 0 {
		d.logger.Info("Unsent data stays in the spool for the next start",
			zap.Int("records", left.Records), zap.Int64("bytes", left.Bytes), zap.String("directory", d.store.Dir()))
	}
	return err
}

// put writes one item and returns its sequence number; the caller wakes the sender.
func (d *decoupler) put(s *sender, payload []byte, records int) (uint64, error) {
	seq, err := d.store.Put(s.route, payload, records)
	if err != nil {
		reason := spool.WriteFailed
		if errors.Is(err, spool.ErrTooLarge) {
			reason = spool.SpoolFull
		}
		d.warnOnce(reason, "Cannot spool data; dropping it", zap.String("signal", s.name), zap.Int("records", records), zap.Error(err))
		return 0, fmt.Errorf("decouple: %w", err)
	}
	return seq, nil
}

// backlog is when the oldest data a sender could deliver now was accepted
// (lambdalifecycle.BacklogFunc).
func (d *decoupler) backlog() time.Time {
	var oldest time.Time
	for _, s := range d.senderList() {
		if t := s.backlog(); !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return oldest
}

// countDrop is the store's OnDrop: every dropped record is counted here, by
// signal (a span, a data point and a log record are not comparable).
func (d *decoupler) countDrop(route spool.Route, reason spool.Reason, records int) {
	route = known(route)
	d.dropped[route][reason].Add(int64(records))
	d.droppedCounter.Add(context.Background(), int64(records), d.dropOpts[route][reason])
	if reason == spool.SpoolFull {
		d.warnOnce(reason, "Spool full; dropping the oldest data", zap.Int64("max_size", d.cfg.MaxSize))
	}
}

// warnOnce logs a drop at Warn the first time its reason occurs since data
// was last delivered: the extension's log lines land in the function's log
// stream, and the counts are in otelcol.decouple.dropped_records.
func (d *decoupler) warnOnce(reason spool.Reason, msg string, fields ...zap.Field) {
	if !d.warned[reason].Swap(true) {
		d.logger.Warn(msg, append(fields, zap.String("decouple", d.id.String()), zap.Stringer("reason", reason))...)
	}
}

// delivered re-arms the drop warnings: an outage that follows gets its own.
func (d *decoupler) delivered() {
	for r := range d.warned {
		d.warned[r].Store(false)
	}
}

func (d *decoupler) senderList() []*sender {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := make([]*sender, 0, len(d.senders))
	for _, s := range d.senders {
		list = append(list, s)
	}
	return list
}

// stopSenders ends the senders' loops: a request in flight may finish, but
// no later than ctx.
func (d *decoupler) stopSenders(ctx context.Context) {
	d.haltOnce.Do(func() { close(d.halt) })
	defer context.AfterFunc(ctx, d.cancelSends)()
	d.workers.Wait()
}

// flush sends every route in parallel until it is empty or ctx ends; the
// senders must be stopped.
func (d *decoupler) flush(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range d.senderList() {
		wg.Go(func() { s.flush(ctx) })
	}
	wg.Wait()
}

// drain is the lambdalifecycle hook. Data left in the spool is not an
// error: it is safe on disk and sent later.
func (d *decoupler) drain(ctx context.Context, mode lambdalifecycle.Mode) error {
	switch mode {
	case lambdalifecycle.Background:
		for _, s := range d.senderList() {
			s.wakeUp()
		}
		return nil
	case lambdalifecycle.Blocking, lambdalifecycle.CatchUp:
		d.waitDelivered(ctx)
		return nil
	case lambdalifecycle.Final:
		return d.final(ctx)
	}
	return fmt.Errorf("unknown drain mode %v", mode)
}

// waitDelivered wakes the senders and waits until every item put before the
// call has left the spool, or each route still holding some is failing (or
// will not try again before ctx's deadline), or ctx ends. A request still in
// flight when ctx ends marks its route failing, so a hanging backend costs
// the flush budget once, not at every invocation.
func (d *decoupler) waitDelivered(ctx context.Context) {
	select {
	case <-d.halt:
		return // after a Final drain or Shutdown nothing sends
	default:
	}
	upTo := d.store.LastSeq()
	deadline, _ := ctx.Deadline()
	senders := d.senderList()
	for _, s := range senders {
		s.wakeUp()
	}
	for {
		changed := d.changed.wait()
		waiting := false
		for _, s := range senders {
			waiting = waiting || s.worthWaiting(upTo, deadline)
		}
		if !waiting {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			for _, s := range senders {
				s.markHung()
			}
			return
		}
	}
}

// final sends what it can before ctx ends; the rest is dropped, since the
// environment (and /tmp with it) ends after this call.
func (d *decoupler) final(ctx context.Context) error {
	d.stopSenders(ctx)
	d.flush(ctx)
	d.mu.Lock()
	d.finaled = true
	d.mu.Unlock()
	n := d.store.DropAll(spool.Shutdown)
	if n == 0 {
		return nil
	}
	d.logger.Error("Environment ends with unsent data; dropping it",
		zap.String("decouple", d.id.String()), zap.Int("records", n))
	return fmt.Errorf("%d records could not be sent before the environment ended", n)
}

const statsPrefix = "otelcol.decouple."

// stats are the spool's in-band stats (lambdalifecycle.Registry.Stats).
func (d *decoupler) stats() []lambdalifecycle.Stat {
	id := d.id.String()
	st := d.store.Stats()
	age := 0.0
	if !st.Oldest.IsZero() {
		age = max(d.now().Sub(st.Oldest).Seconds(), 0)
	}
	var sending [numRoutes]bool
	d.mu.Lock()
	for route := range d.senders {
		sending[route] = true
	}
	d.mu.Unlock()
	var out []lambdalifecycle.Stat
	// Every reason of every signal the spool sends, zeros included, so a
	// counter's first increase is seen; other signals only once they dropped.
	for route := range numRoutes {
		for r := range spool.NumReasons {
			n := d.dropped[route][r].Load()
			if n == 0 && !sending[route] {
				continue
			}
			out = append(out, lambdalifecycle.Stat{
				Name: statsPrefix + "dropped_records", Unit: "{record}", Cumulative: true,
				Description: "Records accepted and dropped without being delivered, by signal and reason.",
				Attributes:  map[string]string{"decouple": id, "signal": routeNames[route], "reason": r.String()},
				Value:       float64(n),
			})
		}
	}
	attrs := func() map[string]string { return map[string]string{"decouple": id} }
	return append(out,
		lambdalifecycle.Stat{Name: statsPrefix + "spool.size", Unit: "By", Description: "Bytes held in the spool.", Attributes: attrs(), Value: float64(st.Bytes)},
		lambdalifecycle.Stat{Name: statsPrefix + "spool.records", Unit: "{record}", Description: "Records held in the spool.", Attributes: attrs(), Value: float64(st.Records)},
		lambdalifecycle.Stat{Name: statsPrefix + "spool.oldest_age", Unit: "s", Description: "Age of the oldest data held in the spool; 0 when empty.", Attributes: attrs(), Value: age},
		lambdalifecycle.Stat{
			Name: statsPrefix + "export_failures", Unit: "{request}", Cumulative: true,
			Description: "Requests the next consumer failed (retried later, or refused for good).",
			Attributes:  attrs(), Value: float64(d.failedRequests.Load()),
		},
	)
}

// notifier wakes every goroutine waiting for a change; it allocates only
// when someone waits.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
