package lambdalifecycle

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDrainRunsHooksInStageOrder(t *testing.T) {
	r := &Registry{}
	var order []string
	hook := func(name string) DrainFunc {
		return func(context.Context, Mode) error { order = append(order, name); return nil }
	}
	r.Register("exporter", StageExport, hook("exporter"))
	r.Register("connector", StageAggregate, hook("connector"))
	r.Register("buffer-1", StageBuffer, hook("buffer-1"))
	r.Register("buffer-2", StageBuffer, hook("buffer-2"))
	require.NoError(t, r.Drain(context.Background(), Blocking))
	assert.Equal(t, []string{"buffer-1", "buffer-2", "connector", "exporter"}, order)
}

func TestDrainKeepsGoingAndNamesFailures(t *testing.T) {
	r := &Registry{}
	ran := false
	r.Register("broken", StageBuffer, func(context.Context, Mode) error { return errors.New("backend down") })
	r.Register("after", StageAggregate, func(context.Context, Mode) error { ran = true; return nil })
	err := r.Drain(context.Background(), Blocking)
	require.ErrorContains(t, err, "drain broken: backend down")
	assert.True(t, ran, "a failing hook must not stop later ones")
}

func TestDrainSkipsHooksOnceTheBudgetIsGone(t *testing.T) {
	r := &Registry{}
	ctx, cancel := context.WithCancel(context.Background())
	r.Register("first", StageBuffer, func(context.Context, Mode) error { cancel(); return nil })
	r.Register("second", StageExport, func(context.Context, Mode) error { t.Fatal("ran after the deadline"); return nil })
	err := r.Drain(ctx, Blocking)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "drain second: skipped")
}

func TestUnregister(t *testing.T) {
	r := &Registry{}
	unregister := r.Register("x", StageBuffer, func(context.Context, Mode) error { return nil })
	r.Register("y", StageBuffer, func(context.Context, Mode) error { return nil })
	assert.Equal(t, 2, r.Len())
	unregister()
	unregister() // idempotent
	assert.Equal(t, 1, r.Len())
}

func TestDrainPassesTheMode(t *testing.T) {
	r := &Registry{}
	var got []Mode
	r.Register("x", StageExport, func(_ context.Context, m Mode) error { got = append(got, m); return nil })
	for _, m := range []Mode{Background, Blocking, Final} {
		require.NoError(t, r.Drain(context.Background(), m))
	}
	assert.Equal(t, []Mode{Background, Blocking, Final}, got)
}

func TestStats(t *testing.T) {
	r := &Registry{}
	a := r.RegisterStats(func() []Stat { return []Stat{{Name: "a", Value: 1}} })
	r.RegisterStats(func() []Stat { return []Stat{{Name: "b", Cumulative: true, Value: 2}} })
	assert.Equal(t, []Stat{{Name: "a", Value: 1}, {Name: "b", Cumulative: true, Value: 2}}, r.Stats())
	a()
	a()
	assert.Equal(t, []Stat{{Name: "b", Cumulative: true, Value: 2}}, r.Stats())
}
