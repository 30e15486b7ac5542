package decoupleprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/processor"
)

var errNotRunning = errors.New("decouple: not started or already shut down")

// instance is the decouple processor of one pipeline: it writes its signal's
// data to the shared spool and returns.
type instance[T any] struct {
	d      *decoupler
	sig    *signal[T]
	req    *signalRequest[T]
	detach func()

	sender   *sender // set by Start
	stopped  atomic.Bool
	shutdown sync.Once
}

func newInstance[T any](ds *decouplers, set processor.Settings, cfg *Config, sig *signal[T], next func(context.Context, T) error) (*instance[T], error) {
	d, detach, err := ds.attach(set, cfg, sig.route)
	if err != nil {
		return nil, err
	}
	req := &signalRequest[T]{sig: sig, next: next, kept: keptItems[T]{max: int(cfg.MaxRequestSize)}}
	return &instance[T]{d: d, sig: sig, req: req, detach: detach}, nil
}

// MutatesData: the newest data is kept, then moved into a request (keptItems).
func (*instance[T]) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start opens the shared spool (first instance) and starts this signal's sender.
func (i *instance[T]) Start(context.Context, component.Host) error {
	s, err := i.d.start(i.sig.route, i.req)
	if err != nil {
		return err
	}
	i.sender = s
	return nil
}

// Shutdown stops accepting; the last instance of the spool sends what it
// can and closes it. Safe without Start.
func (i *instance[T]) Shutdown(ctx context.Context) error {
	var err error
	i.shutdown.Do(func() {
		i.stopped.Store(true)
		if i.sender != nil {
			err = i.d.stop(ctx)
		}
		i.detach()
	})
	return err
}

// consume writes data to the spool, keeps it in memory for its first send,
// and wakes its sender; it never waits for the network. Refusals are permanent: a retry cannot succeed (not running,
// not encodable) or would count the records twice (a failed write is
// already counted as dropped).
func (i *instance[T]) consume(data T) error {
	n := i.sig.count(data)
	if n == 0 {
		return nil
	}
	if i.sender == nil || i.stopped.Load() {
		return consumererror.NewPermanent(errNotRunning)
	}
	payload, err := i.sig.marshal(data)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("decouple: encoding %s: %w", routeNames[i.sig.route], err))
	}
	seq, err := i.d.put(i.sender, payload, n)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	i.req.kept.keep(seq, data, len(payload))
	i.sender.wakeUp()
	return nil
}
