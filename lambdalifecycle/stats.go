package lambdalifecycle

import "slices"

// A Stat is one number a component reports about itself in-band: the
// lambdatelemetry receiver exports every registered Stat with the platform
// metrics, under its resource, so a loss travels with the data (and through
// the spool, so it survives the outage it counts). Outside Lambda nothing
// reads them; components report to the collector's own telemetry as well.
type Stat struct {
	Name        string
	Description string
	Unit        string
	// Cumulative: a monotonic count since the component started; else a gauge.
	Cumulative bool
	// Attributes distinguish the points of one Name (for example a reason).
	Attributes map[string]string
	Value      float64
}

// StatsFunc returns a component's current stats; it must be cheap and safe
// to call from any goroutine.
type StatsFunc func() []Stat

type statsSource struct {
	id uint64
	fn StatsFunc
}

// RegisterStats adds a source of stats and returns a function that removes it.
func (r *Registry) RegisterStats(fn StatsFunc) (unregister func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.newIDLocked()
	r.stats = append(r.stats, statsSource{id: id, fn: fn})
	return r.remover(func() { r.stats = slices.DeleteFunc(r.stats, func(s statsSource) bool { return s.id == id }) })
}

// Stats collects the current stats of every source, in registration order.
func (r *Registry) Stats() []Stat {
	r.mu.Lock()
	sources := slices.Clone(r.stats)
	r.mu.Unlock()
	var out []Stat
	for _, s := range sources {
		out = append(out, s.fn()...)
	}
	return out
}
