// Package extensionapi is a client of the Lambda Extensions API and of the
// Telemetry API's subscription endpoint. It is hand-written: AWS ships no Go
// client for these APIs, and the whole protocol is five small JSON calls.
package extensionapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

const (
	extensionPath = wire.ExtensionPath
	telemetryPath = "/2022-07-01/telemetry"

	headerName       = wire.HeaderName
	headerIdentifier = wire.HeaderIdentifier
	headerFeature    = wire.HeaderFeature
	headerErrorType  = wire.HeaderErrorType
)

// EventType is the type of an /event/next event.
type EventType string

const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// Tracing is the tracing header of an INVOKE event.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Event is what /event/next returns.
type Event struct {
	EventType          EventType `json:"eventType"`
	DeadlineMs         int64     `json:"deadlineMs"`
	RequestID          string    `json:"requestId"`
	InvokedFunctionArn string    `json:"invokedFunctionArn"`
	Tracing            Tracing   `json:"tracing"`
	ShutdownReason     string    `json:"shutdownReason"`

	// Through a launcher's relay only: when the event arrived at the
	// launcher, and whether it already called /event/next again (the
	// environment may have frozen and thawed since).
	Arrived      time.Time `json:"-"`
	Acknowledged bool      `json:"-"`
}

// IsShutdown compares case-insensitively: implementations disagree on case.
func (e Event) IsShutdown() bool { return strings.EqualFold(string(e.EventType), string(Shutdown)) }

// IsInvoke reports whether e is an INVOKE event.
func (e Event) IsInvoke() bool { return strings.EqualFold(string(e.EventType), string(Invoke)) }

// Registration is the body of a successful /register.
type Registration struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId"`
}

// Buffering is the Telemetry API subscription's buffering.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

// Subscription is the body of a Telemetry API subscription.
type Subscription struct {
	SchemaVersion string      `json:"schemaVersion"`
	Types         []string    `json:"types"`
	Buffering     Buffering   `json:"buffering"`
	Destination   Destination `json:"destination"`
}

// Destination is where Lambda POSTs telemetry.
type Destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI"`
}

// StatusError is a non-2xx answer of the API.
type StatusError struct {
	Op     string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Op, e.Status, strings.TrimSpace(e.Body))
}

// Client talks to one extension's view of the APIs.
type Client struct {
	// InitializationType is the execution model (AWS_LAMBDA_INITIALIZATION_TYPE):
	// on Lambda Managed Instances Register asks for SHUTDOWN only.
	InitializationType string

	base  string
	http  *http.Client
	id    string
	relay *relay // a launcher's event relay, if it handed one over
}

// New returns a client for runtimeAPI (the value of AWS_LAMBDA_RUNTIME_API).
func New(runtimeAPI string) *Client {
	// No client timeout: /event/next is a long poll that lasts while frozen.
	return &Client{base: "http://" + runtimeAPI, http: &http.Client{}}
}

// ID returns the extension identifier received at registration.
func (c *Client) ID() string { return c.id }

// Register registers the extension for the events of its execution model
// (wire.RegisterBody of InitializationType), asking for the account id.
func (c *Client) Register(ctx context.Context, name string) (Registration, error) {
	var reg Registration
	resp, err := c.do(ctx, "register", http.MethodPost, extensionPath+"/register", wire.RegisterBody(c.InitializationType), map[string]string{
		headerName:    name,
		headerFeature: "accountId",
	})
	if err != nil {
		return reg, err
	}
	defer resp.Body.Close()
	c.id = resp.Header.Get(headerIdentifier)
	if c.id == "" {
		return reg, errors.New("register: response has no " + headerIdentifier + " header")
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil && !errors.Is(err, io.EOF) {
		return reg, fmt.Errorf("register: decoding response: %w", err)
	}
	return reg, nil
}

// Next blocks until the next event.
func (c *Client) Next(ctx context.Context) (Event, error) {
	return c.NextHint(ctx, time.Time{})
}

// NextHint is Next that tells a launcher's relay until when an INVOKE need
// not wait for this extension (see wire.RelayAck): the relay then calls
// /event/next at once, from a process the collector's load cannot delay.
// Lambda's own API has no such notion, so without a relay it is Next.
func (c *Client) NextHint(ctx context.Context, nonBlockingUntil time.Time) (Event, error) {
	if c.relay != nil {
		return c.relay.next(ctx, nonBlockingUntil)
	}
	var ev Event
	resp, err := c.do(ctx, "event/next", http.MethodGet, extensionPath+"/event/next", nil, nil)
	if err != nil {
		return ev, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		return ev, fmt.Errorf("event/next: decoding event: %w", err)
	}
	return ev, nil
}

// Hint tells a launcher's relay, while this extension waits in NextHint, a
// new time until which an INVOKE need not wait for it; a no-op without one.
func (c *Client) Hint(nonBlockingUntil time.Time) error {
	if c.relay == nil {
		return nil
	}
	return c.relay.ack(nonBlockingUntil, true)
}

// Close releases a relay handed over (TakeOver); a no-op otherwise.
func (c *Client) Close() error {
	if c.relay == nil {
		return nil
	}
	return c.relay.close()
}

// Subscribe subscribes to the Telemetry API.
func (c *Client) Subscribe(ctx context.Context, sub Subscription) error {
	body, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, "telemetry subscribe", http.MethodPut, telemetryPath, body, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// InitError reports a failure during Init; Lambda then fails the init.
func (c *Client) InitError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/init/error", errorType, cause)
}

// ExitError reports a failure before exiting.
func (c *Client) ExitError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/exit/error", errorType, cause)
}

func (c *Client) reportError(ctx context.Context, path, errorType string, cause error) error {
	body, err := json.Marshal(struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}{cause.Error(), errorType, []string{}})
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, strings.TrimPrefix(path, "/"), http.MethodPost, extensionPath+path, body,
		map[string]string{headerErrorType: errorType})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (c *Client) do(ctx context.Context, op, method, path string, body []byte, headers map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.id != "" {
		req.Header.Set(headerIdentifier, c.id)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &StatusError{Op: op, Status: resp.StatusCode, Body: string(b)}
	}
	return resp, nil
}
