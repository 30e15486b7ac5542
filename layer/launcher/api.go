package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/rawhttp"
	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// The launcher's client of Lambda's Extensions API: /register, /event/next
// and /init/error, over rawhttp rather than net/http (rawhttp says why). The
// collector's receiver uses internal/extensionapi, which links net/http; both
// take the API's names from internal/extensionapi/wire.
//
// encoding/json (which also brings fmt) stays: it costs 0.54 MB of the
// binary (2.86 MB; 2.33 MB without it and fmt) and 0.46 MiB of RSS (3.52 MiB;
// 3.06 MiB without), and no time to register; a hand-written JSON scanner for
// Lambda's answers is not worth that.

// apiClient is one extension's view of the Extensions API.
type apiClient struct {
	addr string // AWS_LAMBDA_RUNTIME_API
	// initType is AWS_LAMBDA_INITIALIZATION_TYPE: on Lambda Managed
	// Instances the launcher registers for SHUTDOWN only, and the relay
	// passes that one event on.
	initType string
	id       string // the extension identifier, from /register
	// registration is the /register response body: the function's name,
	// version, handler and account id, as a JSON object.
	registration []byte
}

// statusError is a non-2xx answer (the message is extensionapi.StatusError's).
type statusError struct {
	op     string
	status int
	body   string
}

func (e *statusError) Error() string {
	return e.op + ": HTTP " + strconv.Itoa(e.status) + ": " + strings.TrimSpace(e.body)
}

// register registers the extension for the events of its execution model
// (wire.RegisterBody of initType), asking for the account id.
func (c *apiClient) register(ctx context.Context, name string) error {
	resp, err := c.call(ctx, "register", "POST", "/register", wire.RegisterBody(c.initType),
		rawhttp.Header{Name: wire.HeaderName, Value: name}, rawhttp.Header{Name: wire.HeaderFeature, Value: "accountId"})
	if err != nil {
		return err
	}
	c.id = resp.Get(wire.HeaderIdentifier)
	if c.id == "" {
		return errors.New("register: response has no " + wire.HeaderIdentifier + " header")
	}
	reg := bytes.TrimSpace(resp.Body)
	if len(reg) == 0 {
		reg = []byte("{}")
	}
	if reg[0] != '{' || !json.Valid(reg) {
		return errors.New("register: the response is not a JSON object: " + strconv.Quote(string(reg)))
	}
	c.registration = reg
	return nil
}

// handoverEnv is the environment that hands the registration to the collector.
func (c *apiClient) handoverEnv() []string {
	return []string{wire.EnvHandoverID + "=" + c.id, wire.EnvHandoverRegistration + "=" + string(c.registration)}
}

// event is what /event/next returned: its JSON and its type.
type event struct {
	raw  []byte
	kind string
}

// Implementations disagree on case.
func (e event) isShutdown() bool { return strings.EqualFold(e.kind, "SHUTDOWN") }
func (e event) isInvoke() bool   { return strings.EqualFold(e.kind, "INVOKE") }

// next blocks until the next event.
func (c *apiClient) next(ctx context.Context) (event, error) {
	resp, err := c.call(ctx, "event/next", "GET", "/event/next", nil)
	if err != nil {
		return event{}, err
	}
	var ev struct {
		EventType string `json:"eventType"`
	}
	if err := json.Unmarshal(resp.Body, &ev); err != nil {
		return event{}, errors.New("event/next: decoding the event: " + err.Error())
	}
	return event{raw: resp.Body, kind: ev.EventType}, nil
}

// initError reports a failure during Init; Lambda then fails the init. Lambda
// refuses it (403 Extension.InvalidExtensionState) once the extension called
// /event/next.
func (c *apiClient) initError(ctx context.Context, errorType, msg string) error {
	body, err := json.Marshal(struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}{msg, errorType, []string{}})
	if err != nil {
		return err
	}
	_, err = c.call(ctx, "init/error", "POST", "/init/error", body, rawhttp.Header{Name: wire.HeaderErrorType, Value: errorType})
	return err
}

func (c *apiClient) call(ctx context.Context, op, method, path string, body []byte, header ...rawhttp.Header) (*rawhttp.Response, error) {
	if body != nil {
		header = append(header, rawhttp.Header{Name: "Content-Type", Value: "application/json"})
	}
	if c.id != "" {
		header = append(header, rawhttp.Header{Name: wire.HeaderIdentifier, Value: c.id})
	}
	resp, err := rawhttp.Do(ctx, c.addr, method, wire.ExtensionPath+path, header, body)
	if err != nil {
		return nil, errors.New(op + ": " + err.Error())
	}
	if resp.Status/100 != 2 {
		return nil, &statusError{op: op, status: resp.Status, body: string(resp.Body[:min(len(resp.Body), 4096)])}
	}
	return resp, nil
}
