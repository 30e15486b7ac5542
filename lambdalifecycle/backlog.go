package lambdalifecycle

import (
	"slices"
	"time"
)

// BacklogFunc reports when the oldest data a component still holds for
// export was accepted; zero when it holds none. It must be cheap and safe to
// call from any goroutine.
type BacklogFunc func() time.Time

type backlogSource struct {
	id uint64
	fn BacklogFunc
}

// RegisterBacklog adds a component that holds data for export (a spool, a
// queue) and returns a function that removes it. A flush policy asks Oldest
// whether exports keep up with what comes in.
func (r *Registry) RegisterBacklog(fn BacklogFunc) (unregister func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.newIDLocked()
	r.backlogs = append(r.backlogs, backlogSource{id: id, fn: fn})
	return r.remover(func() { r.backlogs = slices.DeleteFunc(r.backlogs, func(s backlogSource) bool { return s.id == id }) })
}

// Oldest is when the oldest data any registered component holds was
// accepted; zero when none holds any.
func (r *Registry) Oldest() time.Time {
	r.mu.Lock()
	sources := slices.Clone(r.backlogs)
	r.mu.Unlock()
	var oldest time.Time
	for _, s := range sources {
		if t := s.fn(); !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return oldest
}
