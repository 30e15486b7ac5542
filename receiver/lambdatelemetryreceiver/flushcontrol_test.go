package lambdatelemetryreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFlushControlPlans(t *testing.T) {
	cfg := createDefaultConfig().(*Config).Flush // interval 10s, warmup 2, idle gap 1m
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(offsets ...time.Duration) []time.Time {
		var ts []time.Time
		for _, o := range offsets {
			ts = append(ts, t0.Add(o))
		}
		return ts
	}
	block := plan{blocking: true}
	emit := plan{emit: true}
	free := plan{}
	tests := []struct {
		name     string
		strategy Strategy
		invokes  []time.Time
		want     []plan
	}{
		{"end always blocks", StrategyEnd, at(0, time.Second, 2*time.Second), []plan{block, block, block}},
		{"continuous never blocks, emits every interval", StrategyContinuous,
			at(0, time.Second, 9*time.Second, 10*time.Second, 11*time.Second), []plan{emit, free, free, emit, free}},
		{"periodic never blocks, emits every interval", StrategyPeriodic,
			at(0, 5*time.Second, 12*time.Second), []plan{emit, free, emit}},
		{"adaptive blocks until two regular gaps", StrategyAdaptive,
			at(0, time.Second, 2*time.Second, 3*time.Second, 4*time.Second), []plan{block, block, free, free, free}},
		{"adaptive: a blocking flush emitted, so the interval counts from it", StrategyAdaptive,
			at(0, time.Second, 2*time.Second, 11*time.Second, 12*time.Second), []plan{block, block, free, emit, free}},
		{"adaptive blocks again after an idle gap, then warms up again", StrategyAdaptive,
			at(0, time.Second, 2*time.Second, 3*time.Second, 5*time.Minute, 5*time.Minute+time.Second, 5*time.Minute+2*time.Second),
			[]plan{block, block, free, free, block, block, free}},
		{"adaptive with invocations a minute apart stays non-blocking", StrategyAdaptive,
			at(0, time.Minute, 2*time.Minute, 3*time.Minute), []plan{block, block, emit, emit}},
		{"adaptive with a slow trickle keeps blocking", StrategyAdaptive,
			at(0, 2*time.Minute, 4*time.Minute, 6*time.Minute), []plan{block, block, block, block}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.Strategy = tt.strategy
			fc := newFlushControl(c)
			var got []plan
			for _, ts := range tt.invokes {
				// What a relay would decide from the prediction matches the plan.
				until := fc.nonBlockingUntil(false)
				p := fc.onInvoke(ts, false, false)
				assert.Equal(t, !p.blocking, !ts.After(until), "prediction for %v", ts.Sub(t0))
				got = append(got, p)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.strategy != StrategyPeriodic, fc.pushOnArrival())
		})
	}
}

func TestBatchDedup(t *testing.T) {
	d := newBatchDedup(2)
	assert.True(t, d.firstTime([]byte("a")))
	assert.False(t, d.firstTime([]byte("a")), "the same bytes again")
	assert.True(t, d.firstTime([]byte("b")))
	assert.True(t, d.firstTime([]byte("c")), "a full window forgets the oldest")
	assert.True(t, d.firstTime([]byte("a")), "a was forgotten")
	assert.False(t, d.firstTime([]byte("c")))
}

// During a long non-blocking invocation deliveries emit when the interval
// has passed; during a blocking one the loop's backstop does instead.
func TestFlushControlEmitDueDuringInvocation(t *testing.T) {
	cfg := createDefaultConfig().(*Config).Flush
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cfg.Strategy = StrategyContinuous
	fc := newFlushControl(cfg)
	assert.Equal(t, plan{emit: true}, fc.onInvoke(t0, false, false))
	assert.False(t, fc.emitDue(t0.Add(9*time.Second)))
	assert.True(t, fc.emitDue(t0.Add(10*time.Second)))
	assert.False(t, fc.emitDue(t0.Add(11*time.Second)), "counted from the last emission")
	assert.True(t, fc.emitDue(t0.Add(20*time.Second)))

	cfg.Strategy = StrategyEnd
	fc = newFlushControl(cfg)
	fc.onInvoke(t0, false, false)
	assert.False(t, fc.emitDue(t0.Add(time.Hour)))
}

// An INVOKE a relay already acknowledged never blocks, whatever the policy
// would have decided from the time it is handled at (possibly after a thaw).
func TestFlushControlAcknowledgedInvoke(t *testing.T) {
	cfg := createDefaultConfig().(*Config).Flush
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	fc := newFlushControl(cfg)
	assert.Equal(t, never, fc.nonBlockingUntil(false), "cold start")
	assert.True(t, fc.onInvoke(t0, false, false).blocking)
	assert.False(t, fc.onInvoke(t0.Add(time.Second), true, false).blocking)
	assert.True(t, fc.pushOnArrival())
	assert.Equal(t, t0.Add(time.Second+time.Minute), fc.nonBlockingUntil(false))
}

// Adaptive catches up when exports are behind (and the relay's hint is
// then never), unless the relay already let the INVOKE go; continuous and
// periodic never wait.
func TestFlushControlCatchUp(t *testing.T) {
	cfg := createDefaultConfig().(*Config).Flush
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 100 * time.Millisecond) }
	fc := newFlushControl(cfg)
	assert.True(t, fc.onInvoke(at(0), false, true).blocking, "the warm-up blocks anyway")
	for i := 1; i < 3; i++ {
		fc.onInvoke(at(i), false, false)
	}
	assert.Equal(t, plan{}, fc.onInvoke(at(3), false, false))
	assert.Equal(t, at(3).Add(time.Minute), fc.nonBlockingUntil(false))
	assert.Equal(t, never, fc.nonBlockingUntil(true))
	assert.Equal(t, plan{catchUp: true}, fc.onInvoke(at(4), false, true))
	assert.True(t, fc.pushOnArrival(), "a catch-up is not a blocking flush: deliveries still go on arrival")
	assert.Equal(t, plan{}, fc.onInvoke(at(5), true, true), "the relay already let it go")

	for _, s := range []Strategy{StrategyContinuous, StrategyPeriodic} {
		cfg.Strategy = s
		fc := newFlushControl(cfg)
		fc.onInvoke(at(0), false, false)
		assert.False(t, fc.onInvoke(at(1), false, true).catchUp, "%s never waits", s)
		assert.Equal(t, always, fc.nonBlockingUntil(true))
	}
}
