package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// relayWriteTimeout bounds passing one event to the collector: a collector
// that stopped reading its pipe must not hold the function.
const relayWriteTimeout = 2 * time.Second

// errNotReady: the collector went away before it was ready (its Init failed).
var errNotReady = errors.New("the collector exited before it was ready")

// relay owns the extension's /event/next and passes each event to the
// collector over a pipe (wire.EnvRelay). In a blocking invocation it calls
// /event/next once the collector has acknowledged every event, as the
// collector itself would; for an INVOKE the collector's flush policy lets go
// (wire.RelayAck), it calls at once. The environment then goes on from this
// small, idle process, whatever burst of telemetry keeps the collector's
// threads busy: that is what bounds the billed time non-blocking strategies
// add (BENCHMARKS.md, issue 9). Without a collector (nil acks, or once it is
// gone) it is a no-op extension.
type relay struct {
	client   *apiClient
	events   *os.File        // to the collector
	acks     <-chan struct{} // from it, one per event; closed when it is gone
	until    atomic.Int64    // the latest RelayAck.NonBlockingUntilMs (an update's too)
	started  atomic.Bool     // the collector was ready and /event/next was called
	shutdown atomic.Bool     // SHUTDOWN came (set before it is passed on)
}

// newRelay makes the relay's pipes and returns the collector's ends, to pass
// as its file descriptors 3 (events) and 4 (acknowledgements).
func newRelay(client *apiClient) (*relay, []*os.File, error) {
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		return nil, nil, errors.Join(err, evR.Close(), evW.Close())
	}
	acks := make(chan struct{}, 16)
	r := &relay{client: client, events: evW, acks: acks}
	go r.readAcks(ackR, acks)
	return r, []*os.File{evR, ackW}, nil
}

// relayEnv names the collector's ends, as newRelay orders them in ExtraFiles.
const relayEnv = wire.EnvRelay + "=3,4"

func (r *relay) readAcks(f *os.File, acks chan<- struct{}) {
	defer close(acks)
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var a wire.RelayAck
		if err := json.Unmarshal(lines.Bytes(), &a); err != nil {
			logError("event relay: the collector's acknowledgement " + strconv.Quote(lines.Text()) + ": " + err.Error())
			return
		}
		r.until.Store(a.NonBlockingUntilMs)
		if !a.Update {
			acks <- struct{}{}
		}
	}
}

// run serves the lifecycle until SHUTDOWN (relayed) or ctx ends. With a
// collector it first waits until it is ready; errNotReady if it never is.
func (r *relay) run(ctx context.Context) error {
	alive := r.acks != nil
	if alive {
		// The collector then reads what was passed, then EOF: it stops
		// rather than wait for events that cannot come.
		defer r.events.Close()
		if !r.wait(ctx) {
			return cmp.Or(ctx.Err(), errNotReady)
		}
	}
	r.started.Store(true)
	outstanding := 0 // events passed and not acknowledged
	for {
		ev, err := r.client.next(ctx)
		if err != nil {
			return err
		}
		arrived := time.Now().UnixMilli()
		ack := ev.isInvoke() && arrived <= r.until.Load()
		if ev.isShutdown() {
			r.shutdown.Store(true)
		}
		if alive {
			if err := r.pass(ev, arrived, ack); err != nil {
				// A collector that exited closed its end (EPIPE); the
				// launcher's main loop reports that one.
				if !errors.Is(err, syscall.EPIPE) {
					logError("event relay: " + err.Error() + "; telemetry is off for this execution environment, the function runs normally")
				}
				alive = false
			}
			outstanding++
		}
		if ev.isShutdown() {
			return nil
		}
		// Take the acknowledgements that have come, and wait for the rest
		// unless the policy let this INVOKE go.
	collect:
		for alive && outstanding > 0 {
			ok := true
			if ack {
				select {
				case _, ok = <-r.acks:
				default:
					break collect
				}
			} else if ok = r.wait(ctx); !ok && ctx.Err() != nil {
				return ctx.Err()
			}
			if !ok {
				alive = false
				break
			}
			outstanding--
		}
	}
}

// wait takes the next acknowledgement; false when the collector is gone or ctx ends.
func (r *relay) wait(ctx context.Context) bool {
	select {
	case _, ok := <-r.acks:
		return ok
	case <-ctx.Done():
		return false
	}
}

// pass writes ev to the collector, as one line.
func (r *relay) pass(ev event, arrivedMs int64, acknowledged bool) error {
	line, err := json.Marshal(wire.RelayedEvent{ArrivedMs: arrivedMs, Acknowledged: acknowledged, Event: ev.raw})
	if err != nil {
		return errors.New("encoding the event: " + err.Error())
	}
	_ = r.events.SetWriteDeadline(time.Now().Add(relayWriteTimeout))
	_, err = r.events.Write(append(line, '\n'))
	return err
}
