package lambdaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Envelope is one item of a Telemetry API batch.
type Envelope struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// LogFormat is the function's log format setting.
type LogFormat string

const (
	// LogFormatText delivers function and extension records as strings.
	LogFormatText LogFormat = "Text"
	// LogFormatJSON delivers them as objects {timestamp, level, requestId, message}
	// (a line that already is a JSON object is passed through).
	LogFormatJSON LogFormat = "JSON"
)

// TelemetryConfig tunes the Telemetry API; the zero value behaves like Lambda.
type TelemetryConfig struct {
	// RefuseSchemaVersions are answered with 400, to test a client's fallback.
	RefuseSchemaVersions []string
	// LogFormat of function and extension records; default LogFormatText.
	LogFormat LogFormat
	// DeliveryAttempts per batch before it is dropped; default 3.
	DeliveryAttempts int
	// RetryBackoff before the first retry, doubled for each further one; default 50ms.
	RetryBackoff time.Duration
	// DeliveryTimeout of one POST; default 5s.
	DeliveryTimeout time.Duration
	// QueueLimitBytes bounds what waits for one subscriber; beyond it records are
	// dropped and reported with platform.logsDropped. Default 4 MiB.
	QueueLimitBytes int
	// DuplicateDeliveries POSTs every batch a second time after the subscriber
	// accepted it, as Lambda does when it believes a delivery failed (a reset
	// connection, a response it did not see): subscribers must not count or
	// forward a record twice.
	DuplicateDeliveries bool
}

func (c TelemetryConfig) withDefaults() TelemetryConfig {
	if c.LogFormat == "" {
		c.LogFormat = LogFormatText
	}
	if c.DeliveryAttempts <= 0 {
		c.DeliveryAttempts = 3
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 50 * time.Millisecond
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = 5 * time.Second
	}
	if c.QueueLimitBytes <= 0 {
		c.QueueLimitBytes = 4 << 20
	}
	return c
}

const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// telemetryHub emits records and delivers them to subscribers. The emulator and
// the RIE proxy share it, so both deliver exactly alike.
type telemetryHub struct {
	cfg    TelemetryConfig
	gate   *freezeGate
	log    *eventLog
	client *http.Client
	ctx    context.Context
	wg     sync.WaitGroup

	mu      sync.Mutex
	open    bool       // subscriptions accepted (Init phase)
	history []envelope // everything emitted while open, replayed to late subscribers
	subs    map[string]*subscriber
}

type envelope struct {
	typ string
	raw []byte
}

func newTelemetryHub(ctx context.Context, cfg TelemetryConfig, gate *freezeGate, log *eventLog) *telemetryHub {
	cfg = cfg.withDefaults()
	dialer := &net.Dialer{}
	transport := &http.Transport{
		// sandbox.localdomain is the sandbox itself on Lambda.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && strings.EqualFold(host, "sandbox.localdomain") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return &telemetryHub{
		cfg: cfg, gate: gate, log: log, ctx: ctx, open: true,
		client: &http.Client{Transport: transport, Timeout: cfg.DeliveryTimeout},
		subs:   map[string]*subscriber{},
	}
}

// category maps a record type to the subscription type that selects it.
func category(typ string) string {
	if strings.HasPrefix(typ, "platform.") {
		return "platform"
	}
	return typ
}

// emit records a telemetry record and queues it for every subscriber of its category.
func (h *telemetryHub) emit(at time.Time, typ string, record any) {
	rec, err := json.Marshal(record)
	if err != nil {
		panic(fmt.Sprintf("lambdaemu: cannot encode %s record: %v", typ, err))
	}
	raw, _ := json.Marshal(Envelope{Time: formatTime(at), Type: typ, Record: rec})
	h.log.add(Event{Time: at, Kind: EventRecord, Detail: typ, Record: raw})
	env := envelope{typ: typ, raw: raw}
	h.mu.Lock()
	if h.open {
		h.history = append(h.history, env)
	}
	subs := make([]*subscriber, 0, len(h.subs))
	for _, s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		if s.types[category(typ)] {
			s.enqueue(env)
		}
	}
}

// closeSubscriptions ends the Init phase for the Telemetry API.
func (h *telemetryHub) closeSubscriptions() {
	h.mu.Lock()
	h.open = false
	h.history = nil
	h.mu.Unlock()
}

// handleSubscribe serves PUT /2022-07-01/telemetry for the extension name
// (empty: unknown identifier).
func (h *telemetryHub) handleSubscribe(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" {
		writeError(w, http.StatusForbidden, "Extension.Unknown", "unknown or missing Lambda-Extension-Identifier")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	sub, err := parseSubscription(body, h.cfg.RefuseSchemaVersions)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	h.mu.Lock()
	if !h.open {
		h.mu.Unlock()
		writeError(w, http.StatusForbidden, "Telemetry.SubscriptionClosed", "subscriptions are accepted only during the Init phase")
		return
	}
	s := &subscriber{hub: h, name: name, types: map[string]bool{}, buf: *sub.Buffering, uri: sub.Destination.URI, wake: make(chan struct{}, 1)}
	for _, t := range sub.Types {
		s.types[t] = true
	}
	if old := h.subs[name]; old != nil {
		old.stop()
	}
	ctx, cancel := context.WithCancel(h.ctx)
	s.cancel = cancel
	h.subs[name] = s
	for _, env := range h.history {
		if s.types[category(env.typ)] {
			s.enqueue(env)
		}
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.run(ctx)
	}()
	h.mu.Unlock()
	h.emit(time.Now(), "platform.telemetrySubscription", map[string]any{"name": name, "state": "Subscribed", "types": sub.Types})
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK")
}

// removeSubscriber stops delivery to an extension that exited.
func (h *telemetryHub) removeSubscriber(name string) {
	h.mu.Lock()
	if s := h.subs[name]; s != nil {
		s.stop()
		delete(h.subs, name)
	}
	h.mu.Unlock()
}

// wait returns once every delivery goroutine has ended (they end with the hub's context).
func (h *telemetryHub) wait() { h.wg.Wait() }

type subscriber struct {
	hub    *telemetryHub
	name   string
	types  map[string]bool
	buf    Buffering
	uri    string
	wake   chan struct{}
	cancel context.CancelFunc

	mu          sync.Mutex
	queue       []envelope
	queuedBytes int
	dropRecords int
	dropBytes   int
	dropReason  string
}

func (s *subscriber) stop() { s.cancel() }

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) enqueue(env envelope) {
	s.mu.Lock()
	if s.queuedBytes+len(env.raw) > s.hub.cfg.QueueLimitBytes {
		s.dropRecords++
		s.dropBytes += len(env.raw)
		s.dropReason = "Some logs were dropped because the downstream consumer is slower than the logs production rate"
		s.mu.Unlock()
		s.hub.log.add(Event{Kind: EventDrop, Party: s.name, Detail: "queue full", Count: 1})
		s.signal()
		return
	}
	s.queue = append(s.queue, env)
	s.queuedBytes += len(env.raw)
	s.mu.Unlock()
	s.signal()
}

// pending reports whether anything waits (records or a drop notice) and whether a batch is full.
func (s *subscriber) pending() (waiting, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	waiting = len(s.queue) > 0 || s.dropRecords > 0
	return waiting, len(s.queue) >= s.buf.MaxItems || s.queuedBytes >= s.buf.MaxBytes
}

// take removes one batch: at most maxItems records and about maxBytes, led by a
// platform.logsDropped notice when records were lost since the last batch.
func (s *subscriber) take() []envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	var batch []envelope
	size := 0
	if s.dropRecords > 0 {
		if s.types["platform"] {
			rec, _ := json.Marshal(map[string]any{"droppedRecords": s.dropRecords, "droppedBytes": s.dropBytes, "reason": s.dropReason})
			raw, _ := json.Marshal(Envelope{Time: formatTime(time.Now()), Type: "platform.logsDropped", Record: rec})
			s.hub.log.add(Event{Kind: EventRecord, Party: s.name, Detail: "platform.logsDropped", Record: raw})
			batch = append(batch, envelope{typ: "platform.logsDropped", raw: raw})
			size += len(raw)
		}
		s.dropRecords, s.dropBytes = 0, 0
	}
	n := 0
	for n < len(s.queue) && len(batch) < s.buf.MaxItems && (len(batch) == 0 || size+len(s.queue[n].raw) <= s.buf.MaxBytes) {
		size += len(s.queue[n].raw)
		batch = append(batch, s.queue[n])
		n++
	}
	s.queue = s.queue[n:]
	s.queuedBytes -= size
	if s.queuedBytes < 0 {
		s.queuedBytes = 0
	}
	return batch
}

func (s *subscriber) drop(batch []envelope, reason string) {
	size := 0
	for _, e := range batch {
		size += len(e.raw)
	}
	s.mu.Lock()
	s.dropRecords += len(batch)
	s.dropBytes += size
	s.dropReason = reason
	s.mu.Unlock()
	s.hub.log.add(Event{Kind: EventDrop, Party: s.name, Detail: reason, Count: len(batch)})
}

// run buffers per the subscription and delivers batches one at a time.
func (s *subscriber) run(ctx context.Context) {
	timer := &thawedTimer{gate: s.hub.gate}
	for {
		for {
			if waiting, _ := s.pending(); waiting {
				break
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
		timer.remaining = time.Duration(s.buf.TimeoutMs) * time.Millisecond
		for {
			if _, full := s.pending(); full {
				break
			}
			expired, err := timer.wait(ctx, s.wake)
			if err != nil {
				return
			}
			if expired {
				break
			}
		}
		if batch := s.take(); len(batch) > 0 {
			s.deliver(ctx, batch)
		}
	}
}

func (s *subscriber) deliver(ctx context.Context, batch []envelope) {
	var body bytes.Buffer
	body.WriteByte('[')
	types := make([]string, 0, len(batch))
	for i, e := range batch {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(e.raw)
		types = append(types, e.typ)
	}
	body.WriteByte(']')
	backoff := &thawedTimer{gate: s.hub.gate}
	var lastErr error
	for attempt := 0; attempt < s.hub.cfg.DeliveryAttempts; attempt++ {
		if attempt > 0 {
			backoff.remaining = s.hub.cfg.RetryBackoff << (attempt - 1)
			if _, err := backoff.wait(ctx, nil); err != nil {
				return
			}
		}
		if err := s.hub.gate.waitThawed(ctx); err != nil {
			return
		}
		detail := strings.Join(types, ",")
		s.hub.log.add(Event{Kind: EventDelivery, Party: s.name, Detail: detail, Count: len(batch)})
		lastErr = s.post(ctx, body.Bytes())
		if lastErr == nil {
			s.hub.log.add(Event{Kind: EventDelivered, Party: s.name, Detail: detail, Count: len(batch)})
			if s.hub.cfg.DuplicateDeliveries && s.hub.gate.waitThawed(ctx) == nil {
				s.hub.log.add(Event{Kind: EventDelivery, Party: s.name, Detail: detail, Count: len(batch)})
				if s.post(ctx, body.Bytes()) == nil {
					s.hub.log.add(Event{Kind: EventDelivered, Party: s.name, Detail: detail, Count: len(batch)})
				}
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
	s.drop(batch, fmt.Sprintf("delivery to %s failed after %d attempts: %v", s.uri, s.hub.cfg.DeliveryAttempts, lastErr))
}

func (s *subscriber) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.uri, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hub.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// writeError answers with Lambda's error body.
func writeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": msg, "errorType": errType})
}
