package lambdaemu

import (
	"encoding/json"
	"sync"
	"time"
)

// EventKind classifies an entry of the emulator's event log.
type EventKind string

const (
	// EventAPI is an API request as it arrived; Party is the caller, Detail "METHOD path".
	EventAPI EventKind = "api"
	// EventDelivery is a telemetry POST as it started; Party is the subscriber,
	// Detail the record types in the batch, Count the number of records.
	EventDelivery EventKind = "delivery"
	// EventRecord is a telemetry record as it was emitted; Detail is its type, Record the envelope.
	EventRecord EventKind = "record"
	// EventDrop is a batch or records dropped for a subscriber; Detail is the reason.
	EventDrop EventKind = "drop"
	// EventFreeze and EventThaw mark the environment freezing and thawing.
	EventFreeze EventKind = "freeze"
	EventThaw   EventKind = "thaw"
	// EventLifecycle marks phase changes (init, invoke, shutdown) and process exits.
	EventLifecycle EventKind = "lifecycle"
)

// Event is one entry of the event log.
type Event struct {
	Time   time.Time
	Kind   EventKind
	Party  string
	Detail string
	Count  int
	// Record is the {time,type,record} envelope of an EventRecord.
	Record json.RawMessage
}

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// ActivityWhileFrozen returns the API calls and telemetry deliveries that started
// while the environment was frozen (between an EventFreeze and the next EventThaw).
// On Lambda nothing runs then, so any entry is work that would have stalled.
func ActivityWhileFrozen(events []Event) []Event {
	var out []Event
	frozen := false
	for _, e := range events {
		switch e.Kind {
		case EventFreeze:
			frozen = true
		case EventThaw:
			frozen = false
		case EventAPI, EventDelivery:
			if frozen {
				out = append(out, e)
			}
		}
	}
	return out
}

// Records returns the envelopes of every telemetry record in events, in order.
func Records(events []Event) []Envelope {
	var out []Envelope
	for _, e := range events {
		if e.Kind != EventRecord {
			continue
		}
		var env Envelope
		if json.Unmarshal(e.Record, &env) == nil {
			out = append(out, env)
		}
	}
	return out
}
