// Package sharedcomponent lets one component instance serve several pipelines:
// core's and contrib's versions are internal to their modules, so this is the
// project's own small copy of the pattern.
package sharedcomponent

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Map holds one component per key (the component's config).
type Map[K comparable, V component.Component] struct {
	mu    sync.Mutex
	items map[K]*Component[V]
}

// NewMap returns an empty map.
func NewMap[K comparable, V component.Component]() *Map[K, V] {
	return &Map[K, V]{items: map[K]*Component[V]{}}
}

// LoadOrStore returns the component for key, creating it with create.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.items[key]; ok {
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{component: v}
	c.remove = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, key)
	}
	m.items[key] = c
	return c, nil
}

// Component starts and stops the wrapped component once, however many
// pipelines hold it.
type Component[V component.Component] struct {
	component V
	remove    func()

	startOnce sync.Once
	startErr  error
	stopOnce  sync.Once
	stopErr   error
}

// Unwrap returns the shared component.
func (c *Component[V]) Unwrap() V { return c.component }

// Start starts the component on the first call and returns its result to all.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.startOnce.Do(func() { c.startErr = c.component.Start(ctx, host) })
	return c.startErr
}

// Shutdown stops the component once and forgets it, so a reload rebuilds it.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() {
		c.stopErr = c.component.Shutdown(ctx)
		c.remove()
	})
	return c.stopErr
}
