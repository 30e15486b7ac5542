package decoupleprocessor

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
)

// decoupler is one signal's queue and the goroutine that empties it.
type decoupler[T any] struct {
	set    processor.Settings
	drains *lambdalifecycle.Registry
	next   func(context.Context, T) error
	count  func(T) int

	queue chan T
	stop  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	pending int           // accepted, not yet returned from next
	idle    chan struct{} // closed whenever pending is 0

	unregister func()
	failed     metric.Int64Counter
}

func newDecoupler[T any](set processor.Settings, cfg *Config, drains *lambdalifecycle.Registry, next func(context.Context, T) error, count func(T) int) *decoupler[T] {
	idle := make(chan struct{})
	close(idle)
	return &decoupler[T]{
		set: set, drains: drains, next: next, count: count,
		queue: make(chan T, cfg.QueueSize),
		stop:  make(chan struct{}),
		idle:  idle,
	}
}

func (d *decoupler[T]) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (d *decoupler[T]) Start(context.Context, component.Host) error {
	var err error
	d.failed, err = d.set.MeterProvider.Meter(metadata.ScopeName).Int64Counter(
		"otelcol_processor_decouple_failed_items",
		metric.WithDescription("Items the next consumer refused after the decouple processor accepted them."),
		metric.WithUnit("{item}"))
	if err != nil {
		return err
	}
	d.unregister = d.drains.Register(d.set.ID.String(), lambdalifecycle.StageBuffer, d.drain)
	d.wg.Go(d.work)
	return nil
}

// Shutdown passes on what is queued (bounded by ctx), then stops the worker.
// Safe without Start.
func (d *decoupler[T]) Shutdown(ctx context.Context) error {
	if d.unregister == nil {
		return nil
	}
	d.unregister()
	err := d.drain(ctx, lambdalifecycle.Final)
	close(d.stop)
	d.wg.Wait()
	return err
}

func (d *decoupler[T]) consume(ctx context.Context, data T) error {
	d.mu.Lock()
	if d.pending == 0 {
		d.idle = make(chan struct{})
	}
	d.pending++
	d.mu.Unlock()
	select {
	case d.queue <- data:
		return nil
	case <-ctx.Done():
		d.done()
		return ctx.Err()
	}
}

func (d *decoupler[T]) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending--
	if d.pending == 0 {
		close(d.idle)
	}
}

// work passes batches on one at a time. The caller's context is gone by
// then: downstream gets a fresh one (exporters bound their own time).
func (d *decoupler[T]) work() {
	for {
		select {
		case data := <-d.queue:
			if err := d.next(context.Background(), data); err != nil {
				d.failed.Add(context.Background(), int64(d.count(data)))
				d.set.Logger.Warn("Next consumer failed on decoupled data", zap.Error(err))
			}
			d.done()
		case <-d.stop:
			return
		}
	}
}

// drain waits until everything accepted before the call has gone downstream.
func (d *decoupler[T]) drain(ctx context.Context, _ lambdalifecycle.Mode) error {
	d.mu.Lock()
	idle, pending := d.idle, d.pending
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d batches still queued: %w", pending, ctx.Err())
	}
}
