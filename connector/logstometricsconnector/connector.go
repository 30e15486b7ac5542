package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

// logsToMetrics aggregates log records into metrics and emits them when the
// Lambda lifecycle drains, on Shutdown and, optionally, on an interval.
type logsToMetrics struct {
	id            component.ID
	next          consumer.Metrics
	logger        *zap.Logger
	telemetry     *telemetry
	registry      *lambdalifecycle.Registry
	flushInterval time.Duration
	now           func() time.Time

	mu  sync.Mutex // guards agg
	agg *aggregator

	// emitMu keeps emissions in order, so a cumulative series never goes
	// back in time downstream.
	emitMu sync.Mutex

	unregister func()
	// stop ends the interval flush; an emission in flight completes, so
	// Shutdown never cuts one short.
	stop   chan struct{}
	ticker sync.WaitGroup
}

func (*logsToMetrics) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start registers the drain hook that emits before the Lambda freeze and
// starts the interval flush when one is configured.
func (c *logsToMetrics) Start(context.Context, component.Host) error {
	c.unregister = c.registry.Register(c.id.String(), lambdalifecycle.StageAggregate, c.emit)
	if c.flushInterval <= 0 {
		return nil
	}
	stop := make(chan struct{})
	c.stop = stop
	c.ticker.Go(func() {
		t := time.NewTicker(c.flushInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// The next consumer bounds the call (exporter timeouts).
				if err := c.emit(context.Background(), lambdalifecycle.Background); err != nil {
					c.logger.Warn("Interval flush failed", zap.Error(err))
				}
			}
		}
	})
	return nil
}

// Shutdown stops the interval flush, removes the drain hook and emits what
// is left. It is safe to call without Start.
func (c *logsToMetrics) Shutdown(ctx context.Context) error {
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	c.ticker.Wait()
	if c.unregister != nil {
		c.unregister()
	}
	return c.emit(ctx, lambdalifecycle.Final)
}

// ConsumeLogs aggregates the records. Condition errors under error_mode
// propagate come back as one permanent error per rule (retrying would count
// the other records twice); everything else in the batch is recorded.
func (c *logsToMetrics) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.agg.consume(ctx, ld, pcommon.NewTimestampFromTime(c.now()))
	var errs []error
	for i := range c.agg.stats {
		if st := &c.agg.stats[i]; st.firstErr != nil {
			errs = append(errs, fmt.Errorf("rule %q: %d records failed its conditions: %w", c.agg.rules[i].name, st.conditionErrors, st.firstErr))
		}
	}
	c.telemetry.record(ctx, c.agg.stats)
	if len(errs) > 0 {
		return consumererror.NewPermanent(errors.Join(errs...))
	}
	return nil
}

// emit sends the aggregated metrics downstream synchronously; it is the
// drain hook, so when it returns the metrics have left this component.
func (c *logsToMetrics) emit(ctx context.Context, _ lambdalifecycle.Mode) error {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.mu.Lock()
	resourcesBefore := c.agg.expiry.resources
	md, deltaPoints := c.agg.collect(pcommon.NewTimestampFromTime(c.now()))
	c.telemetry.record(ctx, c.agg.stats)
	if n := c.agg.expiry.resources - resourcesBefore; n > 0 {
		c.telemetry.expiredResources.Add(ctx, n)
	}
	c.mu.Unlock()
	if md.ResourceMetrics().Len() == 0 {
		return nil
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		// The expiry counts are cumulative: send them again next time.
		c.mu.Lock()
		c.agg.expiry.changed = c.agg.maxStale > 0
		c.mu.Unlock()
		if deltaPoints > 0 {
			c.telemetry.dropped.Add(ctx, int64(deltaPoints))
		}
		return fmt.Errorf("emit %d data points: %w", md.DataPointCount(), err)
	}
	return nil
}
