package lambdaemu

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	headerExtName       = "Lambda-Extension-Name"
	headerExtID         = "Lambda-Extension-Identifier"
	headerExtFeature    = "Lambda-Extension-Accept-Feature"
	headerExtErrorType  = "Lambda-Extension-Function-Error-Type"
	headerRequestID     = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline      = "Lambda-Runtime-Deadline-Ms"
	headerFunctionArn   = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID       = "Lambda-Runtime-Trace-Id"
	headerFuncErrorType = "Lambda-Runtime-Function-Error-Type"
	maxResponseBytes    = 6 << 20
)

func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2020-01-01/extension/register", e.handleRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", e.handleEventNext)
	mux.HandleFunc("POST /2020-01-01/extension/init/error", e.handleExtensionError)
	mux.HandleFunc("POST /2020-01-01/extension/exit/error", e.handleExtensionError)
	mux.HandleFunc("PUT /2022-07-01/telemetry", func(w http.ResponseWriter, r *http.Request) {
		x := e.extensionByID(r)
		name := ""
		if x != nil && x.alive() {
			name = x.name
		}
		e.hub.handleSubscribe(w, r, name)
	})
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.handleRuntimeNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.handleRuntimeResult)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.handleRuntimeResult)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.handleRuntimeInitError)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		party := "runtime"
		if !strings.HasPrefix(r.URL.Path, "/2018-06-01/") {
			party = r.Header.Get(headerExtName)
			if x := e.extensionByID(r); x != nil {
				party = x.name
			}
		}
		e.log.add(Event{Kind: EventAPI, Party: party, Detail: r.Method + " " + r.URL.Path})
		mux.ServeHTTP(w, r)
	})
}

func (e *Emulator) extensionByID(r *http.Request) *extension {
	id := r.Header.Get(headerExtID)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.exts {
		if x.id == id {
			return x
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *Emulator) handleRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(headerExtName)
	if name == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "missing "+headerExtName+" header")
		return
	}
	var body struct {
		Events []string `json:"events"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "malformed register body: "+err.Error())
		return
	}
	events := map[string]bool{}
	for _, ev := range body.Events {
		if ev != "INVOKE" && ev != "SHUTDOWN" {
			writeError(w, http.StatusBadRequest, "InvalidRequest", "events: unknown event "+strconv.Quote(ev))
			return
		}
		if ev == "INVOKE" && e.cfg.managed() {
			writeError(w, http.StatusBadRequest, "InvalidRequest", "events: INVOKE is not available on Lambda Managed Instances; register for SHUTDOWN and learn invocations from the Telemetry API")
			return
		}
		events[ev] = true
	}
	e.mu.Lock()
	switch {
	case e.initDone:
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.RegistrationClosed", "extensions register only during the Init phase")
		return
	case len(e.exts) >= 10:
		e.mu.Unlock()
		writeError(w, http.StatusBadRequest, "Extension.TooManyExtensions", "at most 10 extensions per function")
		return
	case slices.ContainsFunc(e.exts, func(x *extension) bool { return x.name == name }):
		e.mu.Unlock()
		writeError(w, http.StatusConflict, "Extension.AlreadyRegistered", "an extension named "+strconv.Quote(name)+" is already registered")
		return
	}
	x := &extension{id: newRequestID(), name: name, events: events}
	for _, p := range e.procs {
		if p.extension && p.Name == name && !p.registered {
			x.proc, p.registered = p, true
		}
	}
	e.exts = append(e.exts, x)
	e.notifyLocked()
	e.mu.Unlock()
	resp := map[string]string{"functionName": e.cfg.FunctionName, "functionVersion": e.cfg.FunctionVersion, "handler": e.cfg.Handler}
	if slices.Contains(strings.Split(r.Header.Get(headerExtFeature), ","), "accountId") {
		resp["accountId"] = e.cfg.AccountID
	}
	w.Header().Set(headerExtID, x.id)
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) handleEventNext(w http.ResponseWriter, r *http.Request) {
	x := e.extensionByID(r)
	if x == nil || !x.alive() {
		writeError(w, http.StatusForbidden, "Extension.Unknown", "unknown, exited or failed extension identifier")
		return
	}
	e.mu.Lock()
	if x.shutdownSent && len(x.queue) == 0 {
		// Back in next after SHUTDOWN: done (in-process mode). Lambda would now
		// kill the process, so the call never returns.
		if x.finishedAt.IsZero() && x.proc == nil {
			x.finishedAt = time.Now()
		}
		x.inNext = true
		e.notifyLocked()
		_ = e.waitLocked(r.Context(), func() bool { return false })
		e.mu.Unlock()
		return
	}
	if !x.ready {
		x.ready = true
		events := []string{}
		for _, ev := range []string{"INVOKE", "SHUTDOWN"} {
			if x.events[ev] {
				events = append(events, ev)
			}
		}
		e.hub.emit(time.Now(), "platform.extension", map[string]any{"name": x.name, "state": "Ready", "events": events})
	}
	x.inNext = true
	e.notifyLocked()
	err := e.waitLocked(r.Context(), func() bool { return len(x.queue) > 0 || !x.alive() })
	x.inNext = false
	e.notifyLocked()
	if err != nil {
		e.mu.Unlock()
		return
	}
	if !x.alive() {
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.Unknown", "the extension exited or failed")
		return
	}
	ev := x.queue[0]
	x.queue = x.queue[1:]
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(headerExtID, x.id)
	_, _ = w.Write(ev)
}

// handleExtensionError serves /init/error and /exit/error. Like Lambda (and
// AWS's Runtime Interface Emulator), it accepts /init/error only from an
// extension that has not yet called /event/next: afterwards the extension is
// Ready, and the call is refused with 403 Extension.InvalidExtensionState.
// An accepted report's error type and errorMessage are kept in the event log
// (ExtensionErrors).
func (e *Emulator) handleExtensionError(w http.ResponseWriter, r *http.Request) {
	x := e.extensionByID(r)
	if x == nil || !x.alive() {
		writeError(w, http.StatusForbidden, "Extension.Unknown", "unknown, exited or failed extension identifier")
		return
	}
	errType := r.Header.Get(headerExtErrorType)
	if errType == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "missing "+headerExtErrorType+" header")
		return
	}
	call := strings.TrimPrefix(r.URL.Path, "/2020-01-01/extension/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var report struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &report) // the body is optional; a malformed one reports no message
	e.mu.Lock()
	if call == "init/error" && x.ready {
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionState",
			"State transition from Ready to InitError failed for extension "+x.id+
				": /init/error is accepted only before the extension's first /event/next")
		return
	}
	x.errored = errType
	x.finishedAt = time.Now()
	if !e.initDone {
		e.initErrType = errType
	}
	detail := call + " " + errType
	if report.ErrorMessage != "" {
		detail += "\n" + report.ErrorMessage
	}
	e.log.add(Event{Kind: EventLifecycle, Party: x.name, Detail: detail})
	e.notifyLocked()
	e.mu.Unlock()
	e.hub.removeSubscriber(x.name)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// ExtensionError is an /init/error or /exit/error the emulator accepted.
type ExtensionError struct {
	Extension string // the extension's name
	Call      string // "init/error" or "exit/error"
	Type      string // the Lambda-Extension-Function-Error-Type header
	Message   string // the body's errorMessage ("" without one)
}

// ExtensionErrors lists, in order, the /init/error and /exit/error reports the
// emulator accepted (a refused /init/error is not one). They are read from the
// event log: an EventLifecycle entry whose Detail is the call and the error
// type, then the errorMessage on the lines after it.
func (e *Emulator) ExtensionErrors() []ExtensionError {
	var out []ExtensionError
	for _, ev := range e.Events() {
		if ev.Kind != EventLifecycle || !strings.HasPrefix(ev.Detail, "init/error ") && !strings.HasPrefix(ev.Detail, "exit/error ") {
			continue
		}
		head, msg, _ := strings.Cut(ev.Detail, "\n") // a header value has no newline
		call, errType, _ := strings.Cut(head, " ")
		out = append(out, ExtensionError{Extension: ev.Party, Call: call, Type: errType, Message: msg})
	}
	return out
}

func (e *Emulator) handleRuntimeNext(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if e.phase == phaseShutdown {
		_ = e.waitLocked(r.Context(), func() bool { return false })
		e.mu.Unlock()
		return
	}
	if !e.rt.launched {
		e.rt.launched = true
		e.notifyLocked()
	}
	if !e.rt.started {
		// Lambda starts the runtime only after the extensions registered.
		if err := e.waitLocked(r.Context(), func() bool { return !e.initStart.IsZero() }); err != nil {
			e.mu.Unlock()
			return
		}
		if !e.rt.started { // the first of several workers
			e.rt.started = true
			e.fn.emitInitRuntimeDone(e.hub, time.Now(), "init", "success", "", e.initStart)
		}
	}
	e.rt.waiting++
	e.rt.inNext, e.rt.reset = true, false
	e.notifyLocked()
	err := e.waitLocked(r.Context(), func() bool { return len(e.rt.queue) > 0 })
	e.rt.waiting--
	e.rt.inNext = e.rt.waiting > 0
	e.notifyLocked()
	if err != nil {
		e.mu.Unlock()
		return
	}
	inv := e.rt.queue[0]
	e.rt.queue = e.rt.queue[1:]
	inv.delivered = true
	e.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerRequestID, inv.rec.requestID)
	h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(headerFunctionArn, e.fn.arn())
	if t := inv.rec.runtimeTraceHeader(); t != "" {
		h.Set(headerTraceID, t)
	}
	_, _ = w.Write(inv.payload)
}

// handleRuntimeResult serves both /response and /error.
func (e *Emulator) handleRuntimeResult(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	id := r.PathValue("id")
	isError := strings.HasSuffix(r.URL.Path, "/error")
	e.mu.Lock()
	inv := e.rt.current
	if e.cfg.managed() {
		inv = e.running[id]
	}
	valid := inv != nil && inv.rec.requestID == id && inv.delivered && !inv.finished && !arrived.After(inv.deadline)
	e.mu.Unlock()
	if !valid {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+strconv.Quote(id)+" is in progress")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	read := time.Now()
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	status, errType := "success", ""
	switch {
	case len(body) > maxResponseBytes:
		status, errType = "failure", "Function.ResponseSizeTooLarge"
	case isError:
		status, errType = "error", r.Header.Get(headerFuncErrorType)
		if errType == "" {
			var doc struct {
				ErrorType string `json:"errorType"`
			}
			_ = json.Unmarshal(body, &doc)
			errType = doc.ErrorType
		}
		if errType == "" {
			errType = "Unhandled"
		}
	}
	e.mu.Lock()
	if inv.finished { // timed out while the body was read
		e.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "invocation "+strconv.Quote(id)+" already ended")
		return
	}
	inv.finished = true
	inv.response = body
	inv.rec.status, inv.rec.errorType = status, errType
	inv.rec.producedB = len(body)
	inv.rec.respondStart, inv.rec.respondEnd = arrived, read
	e.fn.emitRuntimeDone(e.hub, read, &inv.rec)
	e.notifyLocked()
	e.mu.Unlock()
	if status == "failure" {
		writeError(w, http.StatusRequestEntityTooLarge, errType, "response exceeds 6 MB")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (e *Emulator) handleRuntimeInitError(w http.ResponseWriter, r *http.Request) {
	errType := r.Header.Get(headerFuncErrorType)
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	e.mu.Lock()
	if e.initDone {
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, "InvalidStateTransition", "init/error is allowed only during Init")
		return
	}
	e.rt.launched = true
	e.notifyLocked()
	if err := e.waitLocked(r.Context(), func() bool { return !e.initStart.IsZero() }); err != nil {
		e.mu.Unlock()
		return
	}
	e.initErrType = errType
	e.fn.emitInitRuntimeDone(e.hub, time.Now(), "init", "error", errType, e.initStart)
	e.notifyLocked()
	e.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// functionLog emits a function record for the invocation in progress.
func (e *Emulator) functionLog(requestID, line string) {
	e.fn.emitLog(e.hub, time.Now(), "function", requestID, line)
}

// ExtensionLog emits an extension record, as Lambda does for each line an
// extension writes to stdout or stderr (use it for in-process extensions).
func (e *Emulator) ExtensionLog(line string) {
	e.fn.emitLog(e.hub, time.Now(), "extension", "", line)
}

func (e *Emulator) currentRequestID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg.managed() {
		// A runtime process's output says nothing of whose it is: only
		// while one invocation runs is that known.
		if len(e.running) == 1 {
			for id := range e.running {
				return id
			}
		}
		return ""
	}
	if e.rt.current != nil && !e.rt.current.finished {
		return e.rt.current.rec.requestID
	}
	return ""
}
