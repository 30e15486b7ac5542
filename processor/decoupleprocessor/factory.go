package decoupleprocessor

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

// NewFactory returns the decouple processor factory.
func NewFactory() processor.Factory {
	return newFactory(lambdalifecycle.Default)
}

func newFactory(registry *lambdalifecycle.Registry) processor.Factory {
	shared := &decouplers{registry: registry, byConfig: map[*Config]*decoupler{}}
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithTraces(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
			i, err := newInstance(shared, set, cfg.(*Config), &tracesSignal, next.ConsumeTraces)
			if err != nil {
				return nil, err
			}
			return tracesProcessor{i}, nil
		}, metadata.TracesStability),
		processor.WithMetrics(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
			i, err := newInstance(shared, set, cfg.(*Config), &metricsSignal, next.ConsumeMetrics)
			if err != nil {
				return nil, err
			}
			return metricsProcessor{i}, nil
		}, metadata.MetricsStability),
		processor.WithLogs(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
			i, err := newInstance(shared, set, cfg.(*Config), &logsSignal, next.ConsumeLogs)
			if err != nil {
				return nil, err
			}
			return logsProcessor{i}, nil
		}, metadata.LogsStability),
	)
}

// decouplers holds a factory's shared spools, one per config, so the traces,
// metrics and logs pipelines of one decouple config share one directory, one
// size bound and one set of stats. Unlike internal/sharedcomponent, which
// stops at the first Shutdown, the spool stays open until the last one: the
// collector shuts pipelines down one by one, and a connector upstream of a
// later pipeline (logstometrics) still emits into its spool at its Shutdown.
type decouplers struct {
	registry *lambdalifecycle.Registry
	mu       sync.Mutex
	byConfig map[*Config]*decoupler
}

// attach returns cfg's decoupler for one more pipeline of route's signal
// and a function that detaches it again; the decoupler is forgotten when
// its last pipeline detaches, so a config reload builds a new one.
func (ds *decouplers) attach(set processor.Settings, cfg *Config, route spool.Route) (*decoupler, func(), error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.byConfig[cfg]
	if d == nil {
		var err error
		if d, err = newDecoupler(set, cfg, ds.registry); err != nil {
			return nil, nil, err
		}
		ds.byConfig[cfg] = d
	}
	if d.routes[route] {
		// One spool sends each signal to one next consumer: a second pipeline
		// of the signal would get the first one's data.
		return nil, nil, fmt.Errorf("%s is used in two %s pipelines; give each its own name (%s/a, %s/b) so each gets its own spool",
			set.ID, routeNames[route], set.ID.Type(), set.ID.Type())
	}
	d.routes[route] = true
	return d, func() {
		ds.mu.Lock()
		defer ds.mu.Unlock()
		delete(d.routes, route)
		if len(d.routes) == 0 {
			delete(ds.byConfig, cfg)
		}
	}, nil
}
