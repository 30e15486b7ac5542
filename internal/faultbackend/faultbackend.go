// Package faultbackend is an OTLP/HTTP backend whose failures a test or a
// benchmark switches at run time: the stock OTLP receiver (in-process, with
// sinks that keep everything) behind a loopback reverse proxy that, by mode,
// forwards, refuses connections, answers 503 or 429 with Retry-After, or
// hangs. It records when each accepted request arrived, so a caller can check
// that nothing reached the backend while the Lambda emulator had the
// environment frozen, and counts what it accepted by signal.
//
//	be, err := faultbackend.Start()
//	defer be.Close()
//	// OTELCOL_LAMBDA_OTLP_ENDPOINT=be.Endpoint()
//	be.SetMode(faultbackend.Refuse())
//	...
//	be.SetMode(faultbackend.OK())
//	be.LogRecordCount(), be.Arrivals(), be.LastValue("faas.invocations", nil)
package faultbackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// Kind is what the proxy does with a request.
type Kind int

const (
	// KindOK forwards to the receiver.
	KindOK Kind = iota
	// KindRefuse closes the listening socket (and every open connection):
	// connections are refused until the mode changes, then the same port
	// listens again.
	KindRefuse
	// KindStatus answers every request with Mode.Status (and Retry-After
	// when Mode.RetryAfter is set) without forwarding it.
	KindStatus
	// KindHang reads the request and does not answer until the mode changes
	// (the request is then handled by the new mode), the client gives up or
	// the backend is closed.
	KindHang
)

// Mode is the proxy's behaviour; build it with OK, Refuse, Status, Throttle
// or Hang, or ParseMode.
type Mode struct {
	Kind   Kind
	Status int
	// RetryAfter, in whole seconds, is sent as Retry-After with Status.
	RetryAfter time.Duration
}

// OK forwards every request to the receiver.
func OK() Mode { return Mode{Kind: KindOK} }

// Refuse refuses connections.
func Refuse() Mode { return Mode{Kind: KindRefuse} }

// Status answers every request with code (for example 503).
func Status(code int) Mode { return Mode{Kind: KindStatus, Status: code} }

// Throttle answers 429 with Retry-After: retryAfter (whole seconds).
func Throttle(retryAfter time.Duration) Mode {
	return Mode{Kind: KindStatus, Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// Hang holds every request unanswered.
func Hang() Mode { return Mode{Kind: KindHang} }

// String is the form ParseMode reads: ok, refuse, hang, 503, 429:2 (status
// and Retry-After in seconds).
func (m Mode) String() string {
	switch m.Kind {
	case KindOK:
		return "ok"
	case KindRefuse:
		return "refuse"
	case KindHang:
		return "hang"
	}
	if m.RetryAfter > 0 {
		return fmt.Sprintf("%d:%d", m.Status, int(m.RetryAfter/time.Second))
	}
	return strconv.Itoa(m.Status)
}

// ParseMode reads ok, refuse, hang, a status code (503) or a status code
// with Retry-After seconds (429:2).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "ok":
		return OK(), nil
	case "refuse":
		return Refuse(), nil
	case "hang":
		return Hang(), nil
	}
	code, after, hasAfter := strings.Cut(s, ":")
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 599 {
		return Mode{}, fmt.Errorf("faultbackend: mode %q is not ok, refuse, hang, a status code or code:retry-after-seconds", s)
	}
	m := Status(n)
	if hasAfter {
		secs, err := strconv.Atoi(after)
		if err != nil || secs < 0 {
			return Mode{}, fmt.Errorf("faultbackend: mode %q: Retry-After must be whole seconds", s)
		}
		m.RetryAfter = time.Duration(secs) * time.Second
	}
	return m, nil
}

// Signal names what an accepted request carried.
type Signal string

const (
	SignalTraces  Signal = "traces"
	SignalLogs    Signal = "logs"
	SignalMetrics Signal = "metrics"
)

// Arrival is one request the receiver accepted (answered 2xx).
type Arrival struct {
	// Time is when the request reached the proxy (before any hang).
	Time   time.Time
	Signal Signal
	// Items: spans, log records or metric data points.
	Items int
	// The request's data; only the one of its signal is set.
	Traces  ptrace.Traces
	Logs    plog.Logs
	Metrics pmetric.Metrics
}

// Requests counts what the proxy did with the requests it read.
type Requests struct {
	Forwarded int         // passed to the receiver (accepted or not)
	Answered  map[int]int // answered by the proxy with a status, by status
	Hung      int         // held by a hang (whatever happened next)
}

// requestHeader carries the proxy's id of a request to the receiver, which
// hands it to the consumers as client metadata: the arrival time is looked
// up by it.
const requestHeader = "X-Faultbackend-Request"

// Backend is the fault-injecting backend. Its methods are safe for
// concurrent use.
type Backend struct {
	addr      string // the proxy's 127.0.0.1:port
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	receivers []component.Component
	traces    *consumertest.TracesSink
	logs      *consumertest.LogsSink
	metrics   *consumertest.MetricsSink
	closed    chan struct{}
	serving   sync.WaitGroup // Serve goroutines

	mu       sync.Mutex
	mode     Mode
	changed  chan struct{} // closed and replaced on every mode change
	srv      *http.Server  // nil while refusing
	isClosed bool
	handlers sync.WaitGroup // requests in the proxy
	nextID   uint64
	pending  map[string]time.Time // request id -> arrival, while forwarded
	arrivals []Arrival
	requests Requests
}

// Start runs the receiver and the proxy on loopback ports, in mode OK.
func Start() (*Backend, error) {
	b := &Backend{
		traces: &consumertest.TracesSink{}, logs: &consumertest.LogsSink{}, metrics: &consumertest.MetricsSink{},
		closed: make(chan struct{}), changed: make(chan struct{}), pending: map[string]time.Time{},
		requests: Requests{Answered: map[int]int{}},
	}
	recvAddr, err := loopback.FreeAddr()
	if err != nil {
		return nil, err
	}
	if err := b.startReceiver(recvAddr); err != nil {
		b.stopReceivers()
		return nil, err
	}
	target := &url.URL{Scheme: "http", Host: recvAddr}
	b.transport = &http.Transport{MaxIdleConnsPerHost: 16}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: b.transport,
		// The receiver is gone or the client gave up: no log line per request.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	if b.addr, err = loopback.FreeAddr(); err != nil {
		b.stopReceivers()
		return nil, err
	}
	b.mu.Lock()
	err = b.listenLocked()
	b.mu.Unlock()
	if err != nil {
		b.stopReceivers()
		return nil, err
	}
	return b, nil
}

func (b *Backend) startReceiver(addr string) error {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	hc := cfg.Protocols.HTTP.GetOrInsertDefault()
	hc.ServerConfig.NetAddr.Endpoint = addr
	hc.ServerConfig.IncludeMetadata = true
	set := receivertest.NewNopSettings(f.Type())
	ctx := context.Background()
	tc, _ := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
		if err := b.traces.ConsumeTraces(ctx, td); err != nil {
			return err
		}
		b.record(ctx, Arrival{Signal: SignalTraces, Items: td.SpanCount(), Traces: td})
		return nil
	})
	lc, _ := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if err := b.logs.ConsumeLogs(ctx, ld); err != nil {
			return err
		}
		b.record(ctx, Arrival{Signal: SignalLogs, Items: ld.LogRecordCount(), Logs: ld})
		return nil
	})
	mc, _ := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		if err := b.metrics.ConsumeMetrics(ctx, md); err != nil {
			return err
		}
		b.record(ctx, Arrival{Signal: SignalMetrics, Items: md.DataPointCount(), Metrics: md})
		return nil
	})
	tr, err := f.CreateTraces(ctx, set, cfg, tc)
	if err != nil {
		return err
	}
	lr, err := f.CreateLogs(ctx, set, cfg, lc)
	if err != nil {
		return err
	}
	mr, err := f.CreateMetrics(ctx, set, cfg, mc)
	if err != nil {
		return err
	}
	// One shared receiver serves the three signals: start it once per signal
	// as the collector does; each Start registers its consumer.
	for _, c := range []component.Component{tr, lr, mr} {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			return fmt.Errorf("faultbackend: start the OTLP receiver: %w", err)
		}
		b.receivers = append(b.receivers, c)
	}
	return nil
}

func (b *Backend) stopReceivers() {
	for _, c := range b.receivers {
		_ = c.Shutdown(context.Background())
	}
	b.receivers = nil
}

// record keeps an accepted request with the arrival time the proxy noted.
func (b *Backend) record(ctx context.Context, a Arrival) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ids := client.FromContext(ctx).Metadata.Get(requestHeader); len(ids) > 0 {
		a.Time = b.pending[ids[0]]
	}
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	b.arrivals = append(b.arrivals, a)
}

// listenLocked opens the proxy's port (the same one every time) and serves it.
func (b *Backend) listenLocked() error {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("faultbackend: listen on %s again: %w", b.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(b.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	b.srv = srv
	b.serving.Go(func() { _ = srv.Serve(ln) })
	return nil
}

// Endpoint is the OTLP/HTTP endpoint: http://127.0.0.1:port.
func (b *Backend) Endpoint() string { return "http://" + b.addr }

// Mode is the current mode.
func (b *Backend) Mode() Mode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode
}

// SetMode switches the behaviour for every request from now on, including
// those a hang holds. Leaving Refuse listens on the same port again.
func (b *Backend) SetMode(m Mode) error {
	if m.Kind == KindStatus && (m.Status < 100 || m.Status > 599) {
		return fmt.Errorf("faultbackend: status %d", m.Status)
	}
	b.mu.Lock()
	if b.isClosed {
		b.mu.Unlock()
		return errors.New("faultbackend: closed")
	}
	var stop *http.Server
	switch {
	case m.Kind == KindRefuse && b.srv != nil:
		stop, b.srv = b.srv, nil
	case m.Kind != KindRefuse && b.srv == nil:
		if err := b.listenLocked(); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	b.mode = m
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	if stop != nil {
		// The listener and every connection: new ones are refused, open
		// ones (a client's keep-alive pool) fail.
		_ = stop.Close()
	}
	return nil
}

func (b *Backend) modeNow() (Mode, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode, b.changed
}

func (b *Backend) serveHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	b.mu.Lock()
	if b.isClosed {
		b.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	b.handlers.Add(1)
	b.mu.Unlock()
	defer b.handlers.Done()

	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	hung := false
	for {
		m, changed := b.modeNow()
		switch m.Kind {
		case KindOK:
			b.forward(w, r, body, arrived)
			return
		case KindRefuse:
			// The listener is closed; a request read just before is cut off.
			panic(http.ErrAbortHandler)
		case KindStatus:
			b.mu.Lock()
			b.requests.Answered[m.Status]++
			b.mu.Unlock()
			if m.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(m.RetryAfter/time.Second)))
			}
			http.Error(w, http.StatusText(m.Status), m.Status)
			return
		case KindHang:
			if !hung {
				hung = true
				b.mu.Lock()
				b.requests.Hung++
				b.mu.Unlock()
			}
			select {
			case <-changed:
			case <-r.Context().Done():
				return
			case <-b.closed:
				panic(http.ErrAbortHandler)
			}
		}
	}
}

func (b *Backend) forward(w http.ResponseWriter, r *http.Request, body []byte, arrived time.Time) {
	b.mu.Lock()
	b.nextID++
	id := strconv.FormatUint(b.nextID, 10)
	b.pending[id] = arrived
	b.requests.Forwarded++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
	}()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set(requestHeader, id)
	b.proxy.ServeHTTP(w, r)
}

// Close releases held requests, closes every connection and stops the
// receiver. It is safe to call twice.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.isClosed {
		b.mu.Unlock()
		return nil
	}
	b.isClosed = true
	close(b.closed)
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	b.serving.Wait()
	b.handlers.Wait()
	b.transport.CloseIdleConnections()
	b.stopReceivers()
	return nil
}

// Arrivals returns every accepted request, in the order the receiver took them.
func (b *Backend) Arrivals() []Arrival {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Arrival(nil), b.arrivals...)
}

// Requests returns what the proxy did so far.
func (b *Backend) Requests() Requests {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.requests
	r.Answered = make(map[int]int, len(b.requests.Answered))
	for k, v := range b.requests.Answered {
		r.Answered[k] = v
	}
	return r
}

// AllTraces, AllLogs and AllMetrics return what the receiver accepted.
func (b *Backend) AllTraces() []ptrace.Traces    { return b.traces.AllTraces() }
func (b *Backend) AllLogs() []plog.Logs          { return b.logs.AllLogs() }
func (b *Backend) AllMetrics() []pmetric.Metrics { return b.metrics.AllMetrics() }

// SpanCount, LogRecordCount and DataPointCount are exact totals of what was
// accepted (a duplicate counts twice).
func (b *Backend) SpanCount() int      { return b.traces.SpanCount() }
func (b *Backend) LogRecordCount() int { return b.logs.LogRecordCount() }
func (b *Backend) DataPointCount() int { return b.metrics.DataPointCount() }
