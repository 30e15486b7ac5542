package extensionapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// EnvRelay is the variable a launcher names its event relay in.
const EnvRelay = wire.EnvRelay

// relay is the child's end of a launcher's event relay (wire.EnvRelay): the
// launcher owns /event/next, so a collector busy with a burst of telemetry
// cannot delay it, and passes each event on over a pipe.
type relay struct {
	events *os.File
	lines  *bufio.Reader
	mu     sync.Mutex // one writer of acks at a time
	acks   *os.File
}

// openRelay opens the relay named by value ("R,W", file descriptors).
func openRelay(value string) (*relay, error) {
	r, w, ok := strings.Cut(value, ",")
	rfd, err1 := strconv.Atoi(r)
	wfd, err2 := strconv.Atoi(w)
	if !ok || err1 != nil || err2 != nil || rfd < 3 || wfd < 3 {
		return nil, fmt.Errorf("%s=%q: want two file descriptors, \"R,W\"", EnvRelay, value)
	}
	// Non-blocking descriptors make the files pollable, so a read can be
	// cancelled (SetReadDeadline) when the collector stops.
	for _, fd := range []int{rfd, wfd} {
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("%s: descriptor %d: %w", EnvRelay, fd, err)
		}
	}
	events := os.NewFile(uintptr(rfd), "event-relay")
	return &relay{events: events, lines: bufio.NewReader(events), acks: os.NewFile(uintptr(wfd), "event-relay-acks")}, nil
}

// next acknowledges the previous event (or says the child is ready), then
// waits for the next one.
func (r *relay) next(ctx context.Context, nonBlockingUntil time.Time) (Event, error) {
	var ev Event
	if err := r.ack(nonBlockingUntil, false); err != nil {
		return ev, fmt.Errorf("event relay: acknowledging: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = r.events.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := r.lines.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return ev, ctx.Err()
		}
		return ev, fmt.Errorf("event relay: %w", err)
	}
	var re wire.RelayedEvent
	if err := json.Unmarshal(line, &re); err != nil {
		return ev, fmt.Errorf("event relay: decoding %q: %w", line, err)
	}
	if err := json.Unmarshal(re.Event, &ev); err != nil {
		return ev, fmt.Errorf("event relay: decoding the event: %w", err)
	}
	ev.Arrived = time.UnixMilli(re.ArrivedMs)
	ev.Acknowledged = re.Acknowledged
	return ev, nil
}

// ack writes one RelayAck line.
func (r *relay) ack(nonBlockingUntil time.Time, update bool) error {
	a := wire.RelayAck{Update: update}
	if !nonBlockingUntil.IsZero() {
		a.NonBlockingUntilMs = nonBlockingUntil.UnixMilli()
	}
	line, _ := json.Marshal(a)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.acks.Write(append(line, '\n'))
	return err
}

func (r *relay) close() error {
	return errors.Join(r.events.Close(), r.acks.Close())
}
