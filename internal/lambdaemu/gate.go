package lambdaemu

import (
	"context"
	"sync"
	"time"
)

// freezeGate is the emulator's model of a frozen execution environment: its own
// goroutines (telemetry delivery, buffering and retry timers) wait while it is
// frozen, as everything inside a real sandbox does.
type freezeGate struct {
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed while thawed
	froze  chan struct{} // closed while frozen
}

func newFreezeGate() *freezeGate {
	g := &freezeGate{thawed: make(chan struct{}), froze: make(chan struct{})}
	close(g.thawed)
	return g
}

// freeze reports whether the state changed.
func (g *freezeGate) freeze() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen {
		return false
	}
	g.frozen = true
	g.thawed = make(chan struct{})
	close(g.froze)
	return true
}

// thaw reports whether the state changed.
func (g *freezeGate) thaw() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.frozen {
		return false
	}
	g.frozen = false
	g.froze = make(chan struct{})
	close(g.thawed)
	return true
}

func (g *freezeGate) state() (frozen bool, thawed, froze <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.frozen, g.thawed, g.froze
}

func (g *freezeGate) isFrozen() bool {
	frozen, _, _ := g.state()
	return frozen
}

// waitThawed blocks while the environment is frozen.
func (g *freezeGate) waitThawed(ctx context.Context) error {
	_, thawed, _ := g.state()
	select {
	case <-thawed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// thawedTimer counts only thawed time, so a buffering timeout or a retry backoff
// does not expire during a freeze.
type thawedTimer struct {
	gate      *freezeGate
	remaining time.Duration
}

// wait returns true once the remaining thawed time has elapsed, or false early
// when wake fires (the remaining time is kept for the next call).
func (t *thawedTimer) wait(ctx context.Context, wake <-chan struct{}) (bool, error) {
	for t.remaining > 0 {
		frozen, thawed, froze := t.gate.state()
		if frozen {
			select {
			case <-thawed:
				continue
			case <-wake:
				return false, nil
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		start := time.Now()
		tm := time.NewTimer(t.remaining)
		select {
		case <-tm.C:
			t.remaining = 0
		case <-froze:
			tm.Stop()
			t.remaining -= time.Since(start)
		case <-wake:
			tm.Stop()
			t.remaining -= time.Since(start)
			return false, nil
		case <-ctx.Done():
			tm.Stop()
			return false, ctx.Err()
		}
	}
	return true, nil
}
