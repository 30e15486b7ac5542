// Package lambdaemutest is a minimal Extensions and Telemetry API client for
// testing the emulator and the harness with a real HTTP extension. It is test
// support, not a product client: the lambdatelemetry receiver has its own.
package lambdaemutest

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

// Extension is one registered extension.
type Extension struct {
	API    string // host:port of AWS_LAMBDA_RUNTIME_API
	Name   string
	ID     string
	Info   map[string]string // the register response body
	client http.Client
}

// Event is an /event/next response.
type Event struct {
	EventType          string `json:"eventType"`
	RequestID          string `json:"requestId"`
	DeadlineMs         int64  `json:"deadlineMs"`
	InvokedFunctionArn string `json:"invokedFunctionArn"`
	ShutdownReason     string `json:"shutdownReason"`
	Tracing            struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"tracing"`
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Body) }

func (x *Extension) do(ctx context.Context, method, path string, header map[string]string, body any) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+x.API+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if x.ID != "" {
		req.Header.Set("Lambda-Extension-Identifier", x.ID)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := x.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp, b, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	return resp, b, nil
}

// Register registers name for events (INVOKE, SHUTDOWN), asking for accountId.
func Register(ctx context.Context, api, name string, events ...string) (*Extension, error) {
	x := &Extension{API: api, Name: name, client: http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	resp, body, err := x.do(ctx, http.MethodPost, "/2020-01-01/extension/register",
		map[string]string{"Lambda-Extension-Name": name, "Lambda-Extension-Accept-Feature": "accountId"},
		map[string]any{"events": events})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	x.ID = resp.Header.Get("Lambda-Extension-Identifier")
	if err := json.Unmarshal(body, &x.Info); err != nil {
		return nil, fmt.Errorf("register response: %w", err)
	}
	return x, nil
}

// Subscribe sends a Telemetry API subscription body as given.
func (x *Extension) Subscribe(ctx context.Context, body any) error {
	_, _, err := x.do(ctx, http.MethodPut, "/2022-07-01/telemetry", nil, body)
	return err
}

// SubscriptionBody is a valid subscription for uri with the smallest timeout.
func SubscriptionBody(schema, uri string, types ...string) map[string]any {
	return map[string]any{
		"schemaVersion": schema,
		"types":         types,
		"buffering":     map[string]int{"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
		"destination":   map[string]string{"protocol": "HTTP", "URI": uri},
	}
}

// Next long-polls /event/next.
func (x *Extension) Next(ctx context.Context) (Event, error) {
	var ev Event
	_, body, err := x.do(ctx, http.MethodGet, "/2020-01-01/extension/event/next", nil, nil)
	if err != nil {
		return ev, err
	}
	return ev, json.Unmarshal(body, &ev)
}

// Error posts /init/error or /exit/error ("init" or "exit").
func (x *Extension) Error(ctx context.Context, which, errType string) error {
	_, _, err := x.do(ctx, http.MethodPost, "/2020-01-01/extension/"+which+"/error",
		map[string]string{"Lambda-Extension-Function-Error-Type": errType},
		map[string]any{"errorMessage": "test", "errorType": errType, "stackTrace": []string{}})
	return err
}

// Record is one telemetry item as received.
type Record struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
	// Batch numbers the POST it arrived in, from 1.
	Batch int `json:"-"`
}

// Field decodes one field of an object record ("" when absent).
func (r Record) Field(name string) string {
	var m map[string]any
	if json.Unmarshal(r.Record, &m) != nil {
		return ""
	}
	switch v := m[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// Listener is a telemetry destination on 127.0.0.1 that records every batch.
type Listener struct {
	URL string
	// Respond, when set, picks the status for the n-th POST (from 1); a non-2xx
	// status rejects the batch.
	Respond func(n int) int

	srv     *http.Server
	mu      sync.Mutex
	posts   int
	records []Record
	changed chan struct{}
}

// NewListener listens on 127.0.0.1:0; its URL uses sandbox.localdomain, as an
// extension on Lambda would.
func NewListener() (*Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	l := &Listener{URL: "http://sandbox.localdomain:" + port + "/telemetry", changed: make(chan struct{})}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

func (l *Listener) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var batch []Record
	if err == nil {
		err = json.Unmarshal(body, &batch)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.posts++
	n := l.posts
	status := http.StatusOK
	if l.Respond != nil {
		status = l.Respond(n)
	}
	if status/100 == 2 {
		for i := range batch {
			batch[i].Batch = n
		}
		l.records = append(l.records, batch...)
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
	w.WriteHeader(status)
}

// Records returns what was accepted so far.
func (l *Listener) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.records...)
}

// WaitFor waits until pred holds for the records received.
func (l *Listener) WaitFor(ctx context.Context, pred func([]Record) bool) ([]Record, error) {
	for {
		l.mu.Lock()
		recs := append([]Record(nil), l.records...)
		ch := l.changed
		l.mu.Unlock()
		if pred(recs) {
			return recs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return recs, ctx.Err()
		}
	}
}

// Find returns the first record of typ whose requestId is id ("" matches any).
func Find(recs []Record, typ, id string) (Record, bool) {
	for _, r := range recs {
		if r.Type == typ && (id == "" || r.Field("requestId") == id) {
			return r, true
		}
	}
	return Record{}, false
}

// Close stops the listener.
func (l *Listener) Close() error { return l.srv.Close() }
