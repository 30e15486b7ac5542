package lambdaemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RIEProxy stands in front of the Runtime API of AWS's Runtime Interface
// Emulator, which implements the Runtime and Extensions APIs for real but only
// stubs the Telemetry API. It forwards everything except
// PUT /2022-07-01/telemetry, which it serves with the emulator's subscription
// and delivery code, and synthesises the platform records from the traffic it
// sees: platform.initStart at the first registration (or runtime call),
// initRuntimeDone at the runtime's first next, initReport and platform.start
// when an invocation is handed to the runtime, runtimeDone at /response or
// /error, and platform.report once the runtime and every extension are back in
// next. Like the emulator it treats that moment as a freeze: nothing is
// delivered until the next event (INVOKE or SHUTDOWN) leaves RIE, so the
// report arrives after the thaw, as on Lambda. Output lines given to
// FunctionLog and ExtensionLog become function and extension records.
type RIEProxy struct {
	fn       functionInfo
	upstream string
	log      *eventLog
	gate     *freezeGate
	hub      *telemetryHub
	ln       net.Listener
	srv      *http.Server
	client   *http.Client
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	freezeMu sync.Mutex // orders the freeze/thaw log entries with the gate

	mu           sync.Mutex
	exts         map[string]*proxyExtension // by identifier
	initStart    time.Time
	runtimeInit  bool
	initReported bool
	initDuration time.Duration
	rtInNext     bool
	nextTrace    string
	cur          *invocationRecord
	curDone      bool
	curReported  bool
}

type proxyExtension struct {
	name   string
	invoke bool
	inNext bool
}

// ProxyConfig configures StartRIEProxy.
type ProxyConfig struct {
	// Upstream is RIE's --runtime-api-address (host:port).
	Upstream string
	// Function describes the function for the platform records; only its
	// function fields and Telemetry are used.
	Function Config
}

// StartRIEProxy listens on 127.0.0.1:0 in front of cfg.Upstream.
func StartRIEProxy(cfg ProxyConfig) (*RIEProxy, error) {
	if cfg.Upstream == "" {
		return nil, fmt.Errorf("lambdaemu: ProxyConfig.Upstream is required")
	}
	if err := cfg.Function.Validate(); err != nil {
		return nil, err
	}
	fc := cfg.Function.withDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &RIEProxy{
		fn: fc.functionInfo(), upstream: cfg.Upstream, log: &eventLog{}, gate: newFreezeGate(), ln: ln, cancel: cancel,
		client: &http.Client{Transport: &http.Transport{}}, exts: map[string]*proxyExtension{},
	}
	p.hub = newTelemetryHub(ctx, fc.Telemetry, p.gate, p.log)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /2022-07-01/telemetry", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		x := p.exts[r.Header.Get(headerExtID)]
		p.mu.Unlock()
		name := ""
		if x != nil {
			name = x.name
		}
		p.hub.handleSubscribe(w, r, name)
	})
	mux.HandleFunc("POST /2020-01-01/extension/register", p.handleRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", p.handleEventNext)
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", p.handleRuntimeNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", p.handleRuntimeResult)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", p.handleRuntimeResult)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", p.handleRuntimeInitError)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { p.forward(w, r, nil) })
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.log.add(Event{Kind: EventAPI, Party: r.Header.Get(headerExtName), Detail: r.Method + " " + r.URL.Path})
		mux.ServeHTTP(w, r)
	})}
	p.wg.Go(func() { _ = p.srv.Serve(ln) })
	return p, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API of the runtime and extensions.
func (p *RIEProxy) Addr() string { return p.ln.Addr().String() }

// Events returns a copy of the event log.
func (p *RIEProxy) Events() []Event { return p.log.snapshot() }

// Records returns every telemetry record emitted so far.
func (p *RIEProxy) Records() []Envelope { return Records(p.Events()) }

// ExpectTraceHeader tells the proxy the X-Ray header of the next invocation:
// RIE puts it in the extensions' INVOKE event but not in the runtime's
// Lambda-Runtime-Trace-Id, which the proxy then fills in.
func (p *RIEProxy) ExpectTraceHeader(h string) {
	p.mu.Lock()
	p.nextTrace = h
	p.mu.Unlock()
}

// FunctionLog emits one line of runtime output as a function record.
func (p *RIEProxy) FunctionLog(line string) {
	p.mu.Lock()
	id := ""
	if p.cur != nil && !p.curDone {
		id = p.cur.requestID
	}
	p.mu.Unlock()
	p.fn.emitLog(p.hub, time.Now(), "function", id, line)
}

// ExtensionLog emits one line of extension output as an extension record.
func (p *RIEProxy) ExtensionLog(line string) {
	p.fn.emitLog(p.hub, time.Now(), "extension", "", line)
}

// Close stops the proxy and telemetry delivery.
func (p *RIEProxy) Close() error {
	p.cancel()
	_ = p.srv.Close()
	p.wg.Wait()
	p.hub.wait()
	p.hub.client.CloseIdleConnections()
	p.client.CloseIdleConnections()
	return nil
}

// upstreamResponse is a response read in full from RIE.
type upstreamResponse struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends r (with body, when not nil, instead of r.Body) to RIE.
func (p *RIEProxy) roundTrip(r *http.Request, body []byte) (*upstreamResponse, error) {
	var rd io.Reader = r.Body
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.upstream+r.URL.RequestURI(), rd)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &upstreamResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (u *upstreamResponse) write(w http.ResponseWriter) {
	for k, v := range u.header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(u.status)
	_, _ = w.Write(u.body)
}

func (p *RIEProxy) forward(w http.ResponseWriter, r *http.Request, body []byte) *upstreamResponse {
	resp, err := p.roundTrip(r, body)
	if err != nil {
		if r.Context().Err() == nil {
			writeError(w, http.StatusBadGateway, "Proxy.UpstreamError", err.Error())
		}
		return nil
	}
	resp.write(w)
	return resp
}

// startInitLocked emits platform.initStart once.
func (p *RIEProxy) startInitLocked() {
	if p.initStart.IsZero() {
		p.initStart = time.Now()
		p.fn.emitInitStart(p.hub, p.initStart, "init")
	}
}

func (p *RIEProxy) handleRegister(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	p.mu.Lock()
	p.startInitLocked()
	p.mu.Unlock()
	resp := p.forward(w, r, body)
	if resp == nil || resp.status != http.StatusOK {
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	_ = json.Unmarshal(body, &req)
	x := &proxyExtension{name: r.Header.Get(headerExtName)}
	for _, ev := range req.Events {
		x.invoke = x.invoke || ev == "INVOKE"
	}
	p.mu.Lock()
	p.exts[resp.header.Get(headerExtID)] = x
	p.mu.Unlock()
}

// spanIDFor derives the invocation's span id from its request id, so the
// runtime's header and the extensions' INVOKE events agree without coordination.
func spanIDFor(requestID string) string {
	sum := sha256.Sum256([]byte(requestID))
	return hex.EncodeToString(sum[:8])
}

func (p *RIEProxy) handleEventNext(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	x := p.exts[r.Header.Get(headerExtID)]
	if x != nil {
		x.inNext = true
		p.completeLocked()
	}
	p.mu.Unlock()
	resp, err := p.roundTrip(r, nil)
	if x != nil {
		p.mu.Lock()
		x.inNext = false
		p.mu.Unlock()
	}
	if err != nil {
		if r.Context().Err() == nil {
			writeError(w, http.StatusBadGateway, "Proxy.UpstreamError", err.Error())
		}
		return
	}
	if resp.status == http.StatusOK {
		var ev map[string]any
		if json.Unmarshal(resp.body, &ev) == nil {
			p.thaw()
			if tr, ok := ev["tracing"].(map[string]any); ok && ev["eventType"] == "INVOKE" {
				if v, ok := tr["value"].(string); ok {
					rec := invocationRecord{requestID: fmt.Sprint(ev["requestId"]), clientTrace: v, spanID: spanIDFor(fmt.Sprint(ev["requestId"]))}
					tr["value"] = rec.runtimeTraceHeader()
					resp.body, _ = json.Marshal(ev)
				}
			}
		}
	}
	resp.write(w)
}

func (p *RIEProxy) handleRuntimeNext(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if !p.runtimeInit {
		p.runtimeInit = true
		p.startInitLocked()
		p.fn.emitInitRuntimeDone(p.hub, time.Now(), "init", "success", "", p.initStart)
	}
	p.rtInNext = true
	p.completeLocked()
	p.mu.Unlock()
	resp, err := p.roundTrip(r, nil)
	p.mu.Lock()
	p.rtInNext = false
	p.mu.Unlock()
	if err != nil {
		if r.Context().Err() == nil {
			writeError(w, http.StatusBadGateway, "Proxy.UpstreamError", err.Error())
		}
		return
	}
	if id := resp.header.Get(headerRequestID); resp.status == http.StatusOK && id != "" {
		p.thaw()
		now := time.Now()
		p.mu.Lock()
		inv := &invocationRecord{requestID: id, clientTrace: resp.header.Get(headerTraceID), spanID: spanIDFor(id), start: now}
		if inv.clientTrace == "" {
			inv.clientTrace = p.nextTrace
		}
		p.nextTrace = ""
		if h := inv.runtimeTraceHeader(); h != "" {
			resp.header.Set(headerTraceID, h)
		}
		if !p.initReported {
			p.initReported = true
			p.initDuration = now.Sub(p.initStart)
			p.fn.emitInitReport(p.hub, now, "init", "success", "", p.initDuration)
			p.hub.closeSubscriptions()
			inv.initDuration = p.initDuration
		}
		p.cur, p.curDone, p.curReported = inv, false, false
		p.fn.emitStart(p.hub, inv)
		p.mu.Unlock()
	}
	resp.write(w)
}

func (p *RIEProxy) handleRuntimeResult(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	read := time.Now()
	resp := p.forward(w, r, body)
	if resp == nil || resp.status/100 != 2 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.cur
	if inv == nil || inv.requestID != r.PathValue("id") || p.curDone {
		return
	}
	inv.status, inv.errorType = "success", ""
	if strings.HasSuffix(r.URL.Path, "/error") {
		inv.status, inv.errorType = "error", r.Header.Get(headerFuncErrorType)
		if inv.errorType == "" {
			inv.errorType = "Unhandled"
		}
	}
	inv.producedB, inv.respondStart, inv.respondEnd = len(body), arrived, read
	p.curDone = true
	p.fn.emitRuntimeDone(p.hub, read, inv)
	p.completeLocked()
}

func (p *RIEProxy) handleRuntimeInitError(w http.ResponseWriter, r *http.Request) {
	resp := p.forward(w, r, nil)
	if resp == nil || resp.status/100 != 2 {
		return
	}
	errType := r.Header.Get(headerFuncErrorType)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startInitLocked()
	p.fn.emitInitRuntimeDone(p.hub, now, "init", "error", errType, p.initStart)
	p.fn.emitInitReport(p.hub, now, "init", "error", errType, now.Sub(p.initStart))
	p.initReported = true
}

// completeLocked ends the invocation once the runtime responded and it and
// every INVOKE extension wait in next: freeze, then queue platform.report.
func (p *RIEProxy) completeLocked() {
	if p.cur == nil || !p.curDone || p.curReported || !p.rtInNext {
		return
	}
	for _, x := range p.exts {
		if x.invoke && !x.inNext {
			return
		}
	}
	p.curReported = true
	p.freezeMu.Lock()
	if p.gate.freeze() {
		p.log.add(Event{Kind: EventFreeze})
	}
	p.freezeMu.Unlock()
	p.fn.emitReport(p.hub, time.Now(), p.cur)
}

func (p *RIEProxy) thaw() {
	p.freezeMu.Lock()
	defer p.freezeMu.Unlock()
	if p.gate.isFrozen() {
		p.log.add(Event{Kind: EventThaw})
		p.gate.thaw()
	}
}
