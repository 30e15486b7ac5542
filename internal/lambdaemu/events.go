package lambdaemu

import (
	"encoding/json"
	"strings"
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
	// EventDelivered is a telemetry POST the subscriber answered with 2xx (same
	// Party, Detail and Count as its EventDelivery).
	EventDelivered EventKind = "delivered"
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

// WhileFrozen reports whether t falls in a frozen period of events (at or
// after an EventFreeze and before the next EventThaw).
func WhileFrozen(events []Event, t time.Time) bool {
	frozen := false
	for _, e := range events {
		if e.Time.After(t) {
			break
		}
		switch e.Kind {
		case EventFreeze:
			frozen = true
		case EventThaw:
			frozen = false
		}
	}
	return frozen
}

// PostRuntime returns, invocation by invocation, the time the extension name
// added after the runtime's result: from the runtime's /response or /error to
// the extension's first /event/next after the INVOKE, or zero when that call
// came first (an extension that does not wait for the runtime). That is the
// billed time Lambda reports as post-runtime extension duration. Invocations
// without a runtime result (timeouts) or without a later /event/next (the
// extension exited) are left out.
func PostRuntime(events []Event, name string) []time.Duration {
	var out []time.Duration
	var id string
	var result, next time.Time
	done := func() {
		if id != "" && !result.IsZero() && !next.IsZero() {
			out = append(out, max(0, next.Sub(result)))
		}
		id, result, next = "", time.Time{}, time.Time{}
	}
	for _, e := range events {
		switch {
		case e.Kind == EventLifecycle && strings.HasPrefix(e.Detail, "invoke "):
			done()
			id = strings.TrimPrefix(e.Detail, "invoke ")
		case id == "" || e.Kind != EventAPI:
		case e.Party == "runtime" && result.IsZero() &&
			(strings.HasSuffix(e.Detail, "/invocation/"+id+"/response") || strings.HasSuffix(e.Detail, "/invocation/"+id+"/error")):
			result = e.Time
		case e.Party == name && next.IsZero() && strings.HasSuffix(e.Detail, "/extension/event/next"):
			next = e.Time
		}
	}
	done()
	return out
}
