package decoupleprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gate is a logs consumer that holds every call until released, like an
// exporter waiting for a slow backend.
type gate struct {
	consumertest.LogsSink
	release chan struct{}
}

func (g *gate) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	<-g.release
	return g.LogsSink.ConsumeLogs(ctx, ld)
}

func logs(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lrs.AppendEmpty().Body().SetStr("x")
	}
	return ld
}

// The function's export returns while the backend is still busy; the drain
// hook returns only once everything accepted has gone downstream.
func TestAcceptsAtOnceAndDrainsBeforeFreeze(t *testing.T) {
	drains := &lambdalifecycle.Registry{}
	g := &gate{release: make(chan struct{})}
	f := newFactory(drains)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), g)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, 1, drains.Len())

	for range 3 {
		require.NoError(t, p.ConsumeLogs(context.Background(), logs(2)))
	}
	assert.Zero(t, g.LogRecordCount(), "nothing may reach the backend on the caller's path")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, drains.Drain(ctx, lambdalifecycle.Blocking), "a drain that cannot finish must say so")

	drained := make(chan error)
	go func() { drained <- drains.Drain(context.Background(), lambdalifecycle.Blocking) }()
	close(g.release)
	require.NoError(t, <-drained)
	assert.Equal(t, 6, g.LogRecordCount())

	require.NoError(t, p.Shutdown(context.Background()))
	assert.Zero(t, drains.Len(), "shutdown removes the hook")
}

// Shutdown hands over what is still queued.
func TestShutdownPassesQueuedData(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f := newFactory(&lambdalifecycle.Registry{})
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	for range 10 {
		require.NoError(t, p.ConsumeLogs(context.Background(), logs(1)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, p.Shutdown(ctx))
	assert.Equal(t, 10, sink.LogRecordCount())
}

// A full queue pushes back on the caller rather than dropping.
func TestFullQueueBlocksUntilContextEnds(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	f := newFactory(&lambdalifecycle.Registry{})
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), &Config{QueueSize: 1}, g)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), logs(1))) // taken by the worker, held by the gate
	// The worker may not have taken the first batch yet: fill until refused.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var refused error
	for i := 0; i < 3 && refused == nil; i++ {
		refused = p.ConsumeLogs(ctx, logs(1))
	}
	require.ErrorIs(t, refused, context.Canceled)
	close(g.release)
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestCapabilitiesAndSignals(t *testing.T) {
	f := NewFactory()
	set := processortest.NewNopSettings(f.Type())
	tp, err := f.CreateTraces(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	mp, err := f.CreateMetrics(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	for _, c := range []interface {
		Capabilities() consumer.Capabilities
	}{tp, mp} {
		assert.False(t, c.Capabilities().MutatesData)
	}
	require.NoError(t, tp.Shutdown(context.Background()), "shutdown without start")
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, (&Config{QueueSize: 1}).Validate())
	assert.ErrorContains(t, (&Config{}).Validate(), "queue_size")
}
