package invocationsamplingprocessor

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor/internal/metadata"
)

// NewFactory returns the invocationsampling processor factory.
func NewFactory() processor.Factory {
	return newFactory(lambdalifecycle.Default)
}

func newFactory(registry *lambdalifecycle.Registry) processor.Factory {
	ss := &samplers{registry: registry, byConfig: map[*Config]*shared{}}
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithTraces(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
			i, err := ss.attach(set, cfg.(*Config), slotFor(func(s *sampler) *consumer.Traces { return &s.nextTraces }, next))
			if err != nil {
				return nil, err
			}
			return &tracesProcessor{i}, nil
		}, metadata.TracesStability),
		processor.WithLogs(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
			i, err := ss.attach(set, cfg.(*Config), slotFor(func(s *sampler) *consumer.Logs { return &s.nextLogs }, next))
			if err != nil {
				return nil, err
			}
			return &logsProcessor{i}, nil
		}, metadata.LogsStability),
	)
}

// samplers holds one sampler per config, so the traces and logs pipelines
// of one invocationsampling config decide together. Like decouple's spools
// (and unlike internal/sharedcomponent, which stops at the first Shutdown)
// a sampler lives until its last pipeline shuts down: the collector stops
// pipelines one by one, and the logs of an invocation may still be pending
// when the traces pipeline stops.
type samplers struct {
	registry *lambdalifecycle.Registry
	mu       sync.Mutex
	byConfig map[*Config]*shared
}

type shared struct {
	s          *sampler
	pipelines  int
	started    int
	unregister []func()
}

// slot sets and clears one signal's next consumer of a sampler.
type slot struct {
	set   func(*sampler) bool // false: the signal has one already
	unset func(*sampler)
}

func slotFor[T comparable](field func(*sampler) *T, next T) slot {
	var none T
	return slot{
		set: func(s *sampler) bool {
			if *field(s) != none {
				return false
			}
			*field(s) = next
			return true
		},
		unset: func(s *sampler) { *field(s) = none },
	}
}

// attach returns one pipeline's instance of cfg's sampler, with the
// pipeline's next consumer in its slot.
func (ss *samplers) attach(set processor.Settings, cfg *Config, next slot) (*instance, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sh := ss.byConfig[cfg]
	if sh == nil {
		s, err := newSampler(cfg)
		if err != nil {
			return nil, err
		}
		sh = &shared{s: s}
		ss.byConfig[cfg] = sh
	}
	sh.s.mu.Lock()
	ok := next.set(sh.s)
	sh.s.mu.Unlock()
	if !ok {
		// One sampler hands each signal to one next consumer.
		return nil, fmt.Errorf("%s is used in two pipelines of one signal; give each its own name (%s/a, %s/b)",
			set.ID, set.ID.Type(), set.ID.Type())
	}
	sh.pipelines++
	return &instance{ss: ss, cfg: cfg, sh: sh, name: set.ID.String(), next: next}, nil
}

// start registers the drain hook and the stats with the first start.
func (ss *samplers) start(i *instance) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if i.sh.started == 0 {
		i.sh.unregister = []func(){
			ss.registry.Register(i.name, lambdalifecycle.StageBuffer, i.sh.s.drain),
			ss.registry.RegisterStats(i.sh.s.stats),
		}
	}
	i.sh.started++
}

// detach undoes attach (and start); the last pipeline's detach forgets the
// sampler, so a config reload builds a new one.
func (ss *samplers) detach(i *instance, started bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	i.sh.s.mu.Lock()
	i.next.unset(i.sh.s)
	i.sh.s.mu.Unlock()
	if started {
		if i.sh.started--; i.sh.started == 0 {
			for _, u := range i.sh.unregister {
				u()
			}
		}
	}
	if i.sh.pipelines--; i.sh.pipelines == 0 {
		delete(ss.byConfig, i.cfg)
	}
}
