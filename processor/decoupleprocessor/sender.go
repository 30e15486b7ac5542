package decoupleprocessor

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

// sender sends one route's items, oldest first, to the next consumer. Its
// loop (run) is the only one sending for the route until stopSenders; after
// that only flush does.
type sender struct {
	d     *decoupler
	route spool.Route
	name  string
	req   requestBuilder
	wake  chan struct{}

	mu           sync.Mutex
	failures     int       // consecutive failed requests since the backend last answered
	failingSince time.Time // when the current run of failures began
	retryAt      time.Time // no attempt before (backoff and throttle)
	throttledTo  time.Time // no attempt before, as the backend asked, even in a flush
	inflight     bool
	hung         bool // a Blocking drain ran out while a request was in flight
	warned       bool // the failure was logged at Warn; its recovery is logged at Info
}

// outcome of one request.
type outcome struct {
	answered  bool  // the backend took or refused the data
	delivered int   // records acknowledged
	err       error // retryable; the items stay
	aborted   bool  // our context ended first; the items stay, not a failure
}

func (s *sender) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends while items wait and no backoff is pending. A wake-up re-checks
// but respects the backoff.
func (s *sender) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var due <-chan time.Time
		if s.d.store.Pending(s.route) {
			wait := s.untilRetry()
			if wait <= 0 {
				select {
				case <-s.d.halt:
					return
				default:
				}
				s.attempt(s.d.sendCtx)
				continue
			}
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-s.d.halt:
			return
		case <-s.wake:
		case <-due:
		}
		timer.Stop()
	}
}

// flush sends until the route is empty or ctx ends, for a Final drain or
// Shutdown. It skips a pending backoff and retries on a schedule of its own,
// starting short, since the time left is short; a throttle delay is honoured,
// and one longer than the time left ends the flush.
func (s *sender) flush(ctx context.Context) {
	for fails := 0; ctx.Err() == nil && s.d.store.Pending(s.route); {
		s.mu.Lock()
		wait := time.Until(s.throttledTo)
		s.mu.Unlock()
		wait = max(wait, s.d.cfg.Retry.delay(fails, 0, rand.Float64()))
		if !sleep(ctx, wait) {
			return
		}
		switch o := s.attempt(ctx); {
		case o.aborted:
			return
		case o.err != nil:
			fails++
		default:
			fails = 0
		}
	}
}

// sleep waits d unless ctx ends first; it does not start a wait that would
// outlast ctx's deadline.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt sends one request of the oldest items and records its outcome.
func (s *sender) attempt(ctx context.Context) outcome {
	s.mu.Lock()
	s.inflight = true
	s.mu.Unlock()
	o := s.deliver(ctx, s.d.store.Take(s.route, int(s.d.cfg.MaxRequestSize)), true)
	s.settle(o)
	return o
}

// deliver sends items as one request. When the backend refuses several
// items for good, each is sent alone once before any is dropped, so one bad
// item does not take the others with it.
func (s *sender) deliver(ctx context.Context, items []spool.Item, split bool) outcome {
	store := s.d.store
	sent := items[:0] // in place: each item is read before its slot is written
	for _, it := range items {
		if s.req.addKept(it.Seq) {
			sent = append(sent, it)
			continue
		}
		payload, err := store.Read(it)
		if err != nil {
			continue // damaged or evicted: the store has counted it
		}
		if err := s.req.add(payload); err != nil {
			store.Drop([]spool.Item{it}, spool.Corrupt)
			s.d.logger.Warn("Dropped a spool item that does not decode", zap.String("signal", s.name), zap.Error(err))
			continue
		}
		sent = append(sent, it)
	}
	if len(sent) == 0 {
		return outcome{}
	}
	err := s.req.send(ctx)
	switch {
	case err == nil:
		store.Ack(sent)
		return outcome{answered: true, delivered: records(sent)}
	case ctx.Err() != nil:
		store.Release(sent)
		return outcome{aborted: true}
	}
	s.d.failedRequests.Add(1)
	if !consumererror.IsPermanent(err) {
		store.Release(sent)
		return outcome{err: err}
	}
	if split && len(sent) > 1 {
		o := outcome{answered: true}
		for i, it := range sent {
			one := s.deliver(ctx, []spool.Item{it}, false)
			o.delivered += one.delivered
			if one.err != nil || one.aborted {
				store.Release(sent[i+1:])
				one.delivered = o.delivered
				return one
			}
		}
		return o
	}
	store.Drop(sent, spool.Rejected)
	s.d.warnOnce(spool.Rejected, "Backend refused data for good; dropping it",
		zap.String("signal", s.name), zap.Int("records", records(sent)), zap.Error(err))
	return outcome{answered: true}
}

func records(items []spool.Item) int {
	n := 0
	for _, it := range items {
		n += it.Records
	}
	return n
}

// settle updates the route's state after a request: an answer resets it, a
// failure schedules the retry. It logs at Warn once when the route starts
// failing and at Info once when it recovers, never per attempt.
func (s *sender) settle(o outcome) {
	held := s.d.store.Records(s.route)
	now := time.Now()
	s.mu.Lock()
	s.inflight = false
	var log func()
	switch {
	case o.err != nil:
		s.failures++
		if s.failures == 1 {
			s.failingSince = now
		}
		throttle, _ := throttleDelay(o.err)
		delay := s.d.cfg.Retry.delay(s.failures, throttle, rand.Float64())
		s.retryAt, s.throttledTo = now.Add(delay), now.Add(throttle)
		fields := []zap.Field{zap.String("signal", s.name), zap.Error(o.err), zap.Int("held_records", held), zap.Duration("retry_in", delay)}
		if s.failing() && !s.warned {
			s.warned = true
			log = func() { s.d.logger.Warn("Export failing; keeping data in the spool and retrying", fields...) }
		} else {
			log = func() { s.d.logger.Debug("Export attempt failed", fields...) }
		}
	case o.answered:
		if s.warned {
			backlog, took := held+o.delivered, now.Sub(s.failingSince)
			log = func() {
				s.d.logger.Info("Export recovered", zap.String("signal", s.name), zap.Int("backlog_records", backlog), zap.Duration("after", took))
			}
		}
		s.failures, s.hung, s.warned = 0, false, false
		s.retryAt, s.throttledTo = time.Time{}, time.Time{}
	}
	s.mu.Unlock()
	if o.delivered > 0 {
		s.d.delivered()
	}
	if log != nil {
		log()
	}
	s.d.changed.broadcast()
}

// failing: sends failed twice in a row, or a request outlived a drain.
// Blocking drains do not wait for a failing route. Called with s.mu held.
func (s *sender) failing() bool { return s.failures >= 2 || s.hung }

// backlog is when the oldest item the route could deliver now was accepted
// (zero: none). A failing route's items cannot leave before the backend
// recovers, so no flush policy should wait for them.
func (s *sender) backlog() time.Time {
	s.mu.Lock()
	failing := s.failing()
	s.mu.Unlock()
	if it, ok := s.d.store.Oldest(s.route); ok && !failing {
		return it.Enqueued
	}
	return time.Time{}
}

func (s *sender) untilRetry() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Until(s.retryAt)
}

// worthWaiting reports whether a Blocking drain should wait for this route:
// it holds items up to seq upTo, is not failing, and tries again before the
// deadline (zero: none).
func (s *sender) worthWaiting(upTo uint64, deadline time.Time) bool {
	oldest, ok := s.d.store.Oldest(s.route)
	if !ok || oldest.Seq > upTo {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.failing() && (deadline.IsZero() || !s.retryAt.After(deadline))
}

// markHung marks the route failing if a request is in flight when a
// Blocking drain runs out of time. Not logged at Warn: a backend slower than
// the flush budget is not failing, and the data is safe; if the request
// fails, that is logged.
func (s *sender) markHung() {
	s.mu.Lock()
	hung := s.inflight && !s.hung
	if hung {
		s.hung = true
		if s.failures == 0 {
			s.failingSince = time.Now()
		}
	}
	s.mu.Unlock()
	if hung {
		s.d.logger.Debug("Request outlived the flush budget; flushes do not wait for this signal until it succeeds",
			zap.String("signal", s.name))
		s.d.changed.broadcast()
	}
}
