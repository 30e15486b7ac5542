package lambdatelemetryreceiver

import (
	"fmt"
	"sync"
	"time"
)

// Strategy names when the extension exports relative to the Lambda freeze.
type Strategy string

const (
	// StrategyEnd waits for every invocation's platform.runtimeDone and sends
	// what it produced before letting the environment freeze: the freshest
	// data, at the price of billed time after each response.
	StrategyEnd Strategy = "end"
	// StrategyPeriodic lets the environment freeze at once and sends the
	// receiver's telemetry at the start of an invocation once Interval has
	// passed, in parallel with the function: fewest requests, oldest data.
	StrategyPeriodic Strategy = "periodic"
	// StrategyContinuous lets the environment freeze at once and hands every
	// Telemetry API delivery to the pipeline as it comes, so it leaves while
	// the environment is thawed; aggregates are emitted every Interval.
	StrategyContinuous Strategy = "continuous"
	// StrategyAdaptive uses end while invocations are rare (after a cold start,
	// after a gap longer than IdleGap) and continuous once they are regular.
	StrategyAdaptive Strategy = "adaptive"
)

var strategies = []Strategy{StrategyEnd, StrategyPeriodic, StrategyContinuous, StrategyAdaptive}

// UnmarshalText accepts the strategy names, so a bad one fails at load with
// the list of good ones.
func (s *Strategy) UnmarshalText(text []byte) error {
	for _, known := range strategies {
		if string(text) == string(known) {
			*s = known
			return nil
		}
	}
	return fmt.Errorf("unknown flush strategy %q (one of %v)", text, strategies)
}

// plan is what the event loop does for one invocation.
type plan struct {
	// blocking: wait for runtimeDone, then flush and export within the
	// budget before the next /event/next.
	blocking bool
	// emit: (non-blocking) emit metrics and aggregates and wake the export at
	// the start of the invocation.
	emit bool
	// catchUp: (adaptive, non-blocking) exports fell behind, so flush now,
	// in parallel with the function, and wait for the export within the
	// budget before the next /event/next; runtimeDone is not waited for.
	catchUp bool
}

// flushControl is the flush policy: a pure function of the invocation times
// it has seen and the clock reading it is given. The event loop asks it once
// per INVOKE; the listener asks whether deliveries go downstream on arrival.
type flushControl struct {
	// concurrent: Lambda Managed Instances, where no INVOKE comes and the
	// environment never freezes: whatever the strategy, deliveries go
	// downstream on arrival and aggregates are emitted every interval.
	concurrent bool
	strategy   Strategy
	interval   time.Duration
	warmup     int
	idleGap    time.Duration

	// The listener asks emitDue, and the loop's lag watch nonBlockingUntil,
	// from their goroutines as the loop plans.
	mu          sync.Mutex
	invokes     []time.Time // the last warmup+1 INVOKE times, oldest first
	lastEmit    time.Time
	nonBlocking bool // the invocation in progress did not block
}

func newFlushControl(cfg FlushConfig) *flushControl {
	return &flushControl{strategy: cfg.Strategy, interval: cfg.Interval, warmup: cfg.Adaptive.Warmup, idleGap: cfg.Adaptive.IdleGap}
}

// never and always bound nonBlockingUntil.
var (
	never  time.Time
	always = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// onInvoke records an INVOKE at now and returns the plan for it.
// acknowledged: a launcher's relay already let the environment go on (it
// asked nonBlockingUntil beforehand), so the plan does not block. behind:
// exports fell behind by more than flush.adaptive.max_lag (lambdaReceiver.behind).
func (f *flushControl) onInvoke(now time.Time, acknowledged, behind bool) plan {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invokes = append(f.invokes, now)
	if len(f.invokes) > f.warmup+1 {
		f.invokes = f.invokes[1:]
	}
	f.nonBlocking = acknowledged || f.strategy != StrategyEnd && (f.strategy != StrategyAdaptive || f.regular())
	switch {
	case !f.nonBlocking:
		f.lastEmit = now
		return plan{blocking: true}
	case f.catchesUp(behind) && !acknowledged:
		f.lastEmit = now
		return plan{catchUp: true}
	}
	return plan{emit: f.dueLocked(now)}
}

// catchesUp: adaptive catches up when exports fell behind. A non-blocking
// environment works only while thawed, that is while the function runs; a
// function that answers in a millisecond or two leaves too little of that
// time for what it logs, and without a catch-up the backlog (in Lambda's
// buffer, the pipeline, the spool) would grow until SHUTDOWN, whose budget
// could not send it. continuous never waits, by definition.
func (f *flushControl) catchesUp(behind bool) bool {
	return behind && f.strategy == StrategyAdaptive
}

// nonBlockingUntil is the time until which the next INVOKE would get a
// non-blocking plan, given whether exports are behind now: what a launcher's
// relay needs to call /event/next at once for it
// (extensionapi.Client.NextHint).
func (f *flushControl) nonBlockingUntil(behind bool) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.catchesUp(behind) {
		return never
	}
	switch f.strategy {
	case StrategyEnd:
		return never
	case StrategyAdaptive:
		// With the next INVOKE, the last warmup gaps are the newest
		// warmup-1 ones and the gap to it.
		n := len(f.invokes)
		if n < f.warmup {
			return never
		}
		for i := n - f.warmup + 1; i < n; i++ {
			if f.invokes[i].Sub(f.invokes[i-1]) > f.idleGap {
				return never
			}
		}
		return f.invokes[n-1].Add(f.idleGap)
	}
	return always
}

// emitDue reports, during a non-blocking invocation (always, when
// concurrent), whether flush.interval has passed since the last emission
// (and counts this one): a long invocation emits its metrics and aggregates
// on time, not only at the next INVOKE. During a blocking invocation the
// loop's own backstop does it.
func (f *flushControl) emitDue(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return (f.nonBlocking || f.concurrent) && f.dueLocked(now)
}

func (f *flushControl) dueLocked(now time.Time) bool {
	if now.Sub(f.lastEmit) < f.interval {
		return false
	}
	f.lastEmit = now
	return true
}

// regular: the last warmup gaps between invocations were all at most idleGap
// (so at least warmup+1 invocations since the cold start).
func (f *flushControl) regular() bool {
	if len(f.invokes) < f.warmup+1 {
		return false
	}
	for i := 1; i < len(f.invokes); i++ {
		if f.invokes[i].Sub(f.invokes[i-1]) > f.idleGap {
			return false
		}
	}
	return true
}

// pushOnArrival says whether a Telemetry API delivery goes downstream as soon
// as it is translated: in every strategy but periodic (which holds until its
// interval, bounded by max_pending_records). Non-blocking, data so leaves
// while the environment is thawed. Blocking, most of an invocation leaves
// while it runs or while Lambda buffers its last records (25 ms), and the
// flush after platform.runtimeDone has only the rest to send: measured at
// 1000 lines per invocation, pushing only at the end put 5-7 ms of
// translation, parsing, spooling and export on the billed path.
func (f *flushControl) pushOnArrival() bool {
	return f.concurrent || f.strategy != StrategyPeriodic
}
