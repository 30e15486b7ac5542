package lambdalifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Stage orders drain hooks the way data flows through a pipeline, so that a
// later stage sees everything an earlier one released.
type Stage int

const (
	// StageBuffer: components that accepted data asynchronously and must hand
	// it downstream.
	StageBuffer Stage = iota * 10
	// StageAggregate: components that derive state from data (cumulative or
	// delta metrics) and must emit it.
	StageAggregate
	// StageExport: components that hold data on its way out (a spool).
	StageExport
)

// Mode says how much of the way out a drain must wait for. Hooks of the
// buffer and aggregate stages hand data on locally and complete in every
// mode; the modes differ for the export stage, where the network is.
type Mode int

const (
	// Blocking: return once everything accepted before the call has been
	// acknowledged downstream, or cannot be now (the backend is failing and
	// the data stays held), or ctx ends. The environment may freeze next.
	Blocking Mode = iota
	// Background: start sending and return at once. The environment stays
	// thawed while the function runs, so the work goes on in parallel.
	Background
	// Final: the environment ends after this call. As Blocking within ctx;
	// what is still held when it returns is counted as lost.
	Final
	// CatchUp: exports fell behind and are waited for while an invocation
	// runs. As Blocking for what can leave now, but buffers keep what
	// belongs to invocations that have not ended (a sampler's undecided
	// data): they are not done, and memory outlives a freeze.
	CatchUp
)

func (m Mode) String() string {
	switch m {
	case Blocking:
		return "blocking"
	case Background:
		return "background"
	case Final:
		return "final"
	case CatchUp:
		return "catch-up"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DrainFunc empties a component as mode says. It must respect ctx's deadline.
type DrainFunc func(ctx context.Context, mode Mode) error

type hook struct {
	id    uint64
	name  string
	stage Stage
	fn    DrainFunc
}

// Registry holds drain hooks, stats sources and backlogs. Components use Default;
// tests may make their own.
type Registry struct {
	mu       sync.Mutex
	nextID   uint64
	hooks    []hook
	stats    []statsSource
	backlogs []backlogSource
	// drainMu serialises Drain calls so two barriers never interleave.
	drainMu sync.Mutex
}

// Default is the process-wide registry. Like the collector's shared-component
// maps it is a package variable because components built by different
// factories have no other way to meet.
var Default = &Registry{}

// Register adds fn under name at stage and returns a function that removes it
// (call it from Shutdown). Hooks of one stage run in registration order.
func (r *Registry) Register(name string, stage Stage, fn DrainFunc) (unregister func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.newIDLocked()
	r.hooks = append(r.hooks, hook{id: id, name: name, stage: stage, fn: fn})
	slices.SortStableFunc(r.hooks, func(a, b hook) int { return int(a.stage - b.stage) })
	return r.remover(func() { r.hooks = slices.DeleteFunc(r.hooks, func(h hook) bool { return h.id == id }) })
}

func (r *Registry) newIDLocked() uint64 {
	r.nextID++
	return r.nextID
}

// remover returns an idempotent function that runs del under r.mu.
func (r *Registry) remover(del func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			del()
		})
	}
}

// Len reports how many hooks are registered.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hooks)
}

// Drain runs every hook in stage order. A failing hook does not stop later
// ones (they may still save data); all errors are returned joined, each named
// by its hook. Hooks still pending when ctx ends are skipped and reported.
func (r *Registry) Drain(ctx context.Context, mode Mode) error {
	r.drainMu.Lock()
	defer r.drainMu.Unlock()
	r.mu.Lock()
	hooks := slices.Clone(r.hooks)
	r.mu.Unlock()
	var errs []error
	for _, h := range hooks {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("drain %s: skipped: %w", h.name, err))
			continue
		}
		if err := h.fn(ctx, mode); err != nil {
			errs = append(errs, fmt.Errorf("drain %s: %w", h.name, err))
		}
	}
	return errors.Join(errs...)
}

// Register adds a hook to Default.
func Register(name string, stage Stage, fn DrainFunc) func() {
	return Default.Register(name, stage, fn)
}

// Drain runs Default's hooks.
func Drain(ctx context.Context, mode Mode) error { return Default.Drain(ctx, mode) }
