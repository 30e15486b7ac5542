package lambdaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Invocation is what a Handler gets for one request.
type Invocation struct {
	RequestID   string
	TraceHeader string // Lambda-Runtime-Trace-Id
	FunctionARN string
	Payload     []byte
	Deadline    time.Time
	// Log writes one line of function output (a function telemetry record).
	Log func(line string)
}

// Handler is a function. A returned error is reported with /invocation/{id}/error;
// its errorType is ErrorType() when the error has that method, else "HandlerError".
type Handler func(ctx context.Context, inv Invocation) ([]byte, error)

// RunRuntime runs handler as an in-process runtime: a goroutine that speaks the
// Runtime API over HTTP to the emulator, as a bootstrap process would. It stops
// when ctx is done, at Shutdown or at Close.
func (e *Emulator) RunRuntime(ctx context.Context, handler Handler) {
	rctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.runtimeCancels = append(e.runtimeCancels, cancel)
	e.rt.launched = true
	e.notifyLocked()
	e.mu.Unlock()
	stop := context.AfterFunc(e.ctx, cancel)
	e.wg.Go(func() {
		defer stop()
		defer cancel()
		_ = ServeRuntime(rctx, e.Addr(), handler, e.functionLog)
	})
}

// ServeRuntime is a Runtime API client loop for api (host:port): next, handler,
// response or error, until ctx is done. logf receives the handler's Log lines;
// a runtime process passes a function that prints them.
func ServeRuntime(ctx context.Context, api string, handler Handler, logf func(requestID, line string)) error {
	base := "http://" + api + "/2018-06-01/runtime/invocation/"
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runtime next: %w", err)
		}
		payload, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runtime next: status %d: %v", resp.StatusCode, err)
		}
		ms, _ := strconv.ParseInt(resp.Header.Get(headerDeadline), 10, 64)
		inv := Invocation{
			RequestID:   resp.Header.Get(headerRequestID),
			TraceHeader: resp.Header.Get(headerTraceID),
			FunctionARN: resp.Header.Get(headerFunctionArn),
			Payload:     payload,
			Deadline:    time.UnixMilli(ms),
		}
		inv.Log = func(line string) { logf(inv.RequestID, line) }
		hctx, cancel := context.WithDeadline(ctx, inv.Deadline)
		out, herr := handler(hctx, inv)
		cancel()
		path, body, errType := base+inv.RequestID+"/response", out, ""
		if herr != nil {
			errType = "HandlerError"
			var typed interface{ ErrorType() string }
			if errors.As(herr, &typed) {
				errType = typed.ErrorType()
			}
			path = base + inv.RequestID + "/error"
			body, _ = json.Marshal(map[string]any{"errorMessage": herr.Error(), "errorType": errType, "stackTrace": []string{}})
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(body))
		if errType != "" {
			req.Header.Set(headerFuncErrorType, errType)
		}
		resp, err = client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runtime result: %w", err)
		}
		// A late result after a timeout is refused (400); the runtime just asks for the next event.
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
