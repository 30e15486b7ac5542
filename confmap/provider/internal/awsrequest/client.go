package awsrequest // import "github.com/lambda-o11y/otelcol-lambda/confmap/provider/internal/awsrequest"

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

const (
	// maxAttempts and attemptTimeout bound a fetch during Init: the AWS SDK's
	// standard retryer also makes 3 attempts, but has no per-attempt bound,
	// and an extension's Init has 10 s in all.
	maxAttempts    = 3
	attemptTimeout = 3 * time.Second
	// maxBody bounds what a response may hold in memory: a config or a
	// secret (Secrets Manager's limit is 64 KiB) is far smaller.
	maxBody = 16 << 20
)

// Env is what the providers read from the environment. Lambda gives the
// function and its extensions the execution role's credentials in
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and the
// region in AWS_REGION.
type Env struct {
	Lookup func(string) (string, bool)
}

// OSEnv reads the process environment.
var OSEnv = Env{Lookup: os.LookupEnv}

func (e Env) get(name string) string {
	v, _ := e.Lookup(name)
	return v
}

// Credentials returns the access key pair, or an error that says what to set.
func (e Env) Credentials() (Credentials, error) {
	c := Credentials{
		AccessKeyID:     e.get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: e.get("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    e.get("AWS_SESSION_TOKEN"),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, errors.New("failed to retrieve credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's execution role)")
	}
	return c, nil
}

// Region is AWS_REGION, else AWS_DEFAULT_REGION, as the AWS SDK reads them.
func (e Env) Region() string {
	if r := e.get("AWS_REGION"); r != "" {
		return r
	}
	return e.get("AWS_DEFAULT_REGION")
}

// Endpoint is the AWS SDK's endpoint override for a service:
// AWS_ENDPOINT_URL_<ID> (ID as in AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_SECRETS_MANAGER), else AWS_ENDPOINT_URL; "" for none.
func (e Env) Endpoint(id string) string {
	if u := e.get("AWS_ENDPOINT_URL_" + id); u != "" {
		return strings.TrimSuffix(u, "/")
	}
	return strings.TrimSuffix(e.get("AWS_ENDPOINT_URL"), "/")
}

// Request is one call: URL has its path already escaped (EscapePath).
type Request struct {
	// Service and Operation name the call in errors, as the AWS SDK does
	// ("operation error S3: GetObject, ...").
	Service, Operation string
	// SigningName and Region scope the signature ("s3", "secretsmanager").
	SigningName, Region string
	Method, URL         string
	Header              http.Header
	Body                []byte
}

// Do signs and sends r, retrying a failed connection, a throttled request or
// a server error, and returns the body of a 2xx response.
func Do(ctx context.Context, client *http.Client, creds Credentials, r Request) ([]byte, error) {
	var lastErr error
	for attempt := range maxAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("operation error %s: %s, %w (last: %w)", r.Service, r.Operation, ctx.Err(), lastErr)
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		body, retry, err := try(ctx, client, creds, r)
		if err == nil || !retry {
			return body, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("operation error %s: %s, exceeded maximum number of attempts, %d, %w", r.Service, r.Operation, maxAttempts, lastErr)
}

func try(ctx context.Context, client *http.Client, creds Credentials, r Request) (body []byte, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, false, fmt.Errorf("operation error %s: %s, %w", r.Service, r.Operation, err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if err := Sign(req, PayloadHash(r.Body), creds, r.Region, r.SigningName, time.Now()); err != nil {
		return nil, false, fmt.Errorf("operation error %s: %s, failed to sign request, %w", r.Service, r.Operation, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("request send failed, %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, true, fmt.Errorf("failed to read response body, %w", err)
	}
	if resp.StatusCode/100 == 2 {
		if len(body) > maxBody {
			return nil, false, fmt.Errorf("operation error %s: %s, response larger than %d bytes", r.Service, r.Operation, maxBody)
		}
		return body, false, nil
	}
	code, msg := apiError(body)
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	requestID := resp.Header.Get("X-Amz-Request-Id")
	if requestID == "" {
		requestID = resp.Header.Get("X-Amzn-Requestid")
	}
	err = fmt.Errorf("https response error StatusCode: %d, RequestID: %s, api error %s: %s", resp.StatusCode, requestID, code, msg)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, true, err
	}
	return nil, false, fmt.Errorf("operation error %s: %s, %w", r.Service, r.Operation, err)
}

// apiError reads the code and message of an error response: XML from S3,
// JSON from the JSON-protocol services such as Secrets Manager.
func apiError(body []byte) (code, msg string) {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '<' {
		var e struct{ Code, Message string }
		if xml.Unmarshal(b, &e) == nil {
			return e.Code, e.Message
		}
		return "", ""
	}
	var e struct {
		Type       string `json:"__type"`
		Message    string `json:"message"`
		MessageCap string `json:"Message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	// "__type" may be namespaced: "com.amazonaws...#ResourceNotFoundException".
	code = e.Type[strings.LastIndexByte(e.Type, '#')+1:]
	if e.Message != "" {
		return code, e.Message
	}
	return code, e.MessageCap
}
