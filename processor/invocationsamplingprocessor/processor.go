package invocationsamplingprocessor

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// instance is the processor of one pipeline over its config's sampler.
type instance struct {
	ss   *samplers
	cfg  *Config
	sh   *shared
	name string
	next slot

	mu      sync.Mutex
	started bool
	stopped bool
}

// MutatesData: records are annotated, moved into groups and removed.
func (*instance) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (i *instance) Start(context.Context, component.Host) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.started && !i.stopped {
		i.started = true
		i.ss.start(i)
	}
	return nil
}

// Shutdown hands on everything pending (kept, reason undecided) while this
// pipeline's next consumer is still there, then detaches. Safe without Start.
func (i *instance) Shutdown(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return nil
	}
	i.stopped = true
	err := i.sh.s.flush(ctx)
	i.ss.detach(i, i.started)
	return err
}

type tracesProcessor struct{ *instance }

func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.sh.s.consumeTraces(ctx, td)
}

type logsProcessor struct{ *instance }

func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.sh.s.consumeLogs(ctx, ld)
}
