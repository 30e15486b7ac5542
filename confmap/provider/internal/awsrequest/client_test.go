package awsrequest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"
)

func startStub(t *testing.T) *awsrequesttest.Server {
	return awsrequesttest.Start(t, map[string]string{"bucket/dir/a b$c.yaml": "x: 1\n"}, nil)
}

func getObject(url string, creds Credentials) Request {
	return Request{
		Service: "S3", Operation: "GetObject", SigningName: "s3", Region: "eu-west-1",
		Method: http.MethodGet, URL: url + EscapePath("/bucket/dir/a b$c.yaml"),
		Header: http.Header{"X-Amz-Content-Sha256": {PayloadHash(nil)}},
	}
}

func TestDoSignedRequest(t *testing.T) {
	s := startStub(t)
	creds := Credentials{AccessKeyID: s.Credentials.AccessKeyID, SecretAccessKey: s.Credentials.SecretAccessKey, SessionToken: s.Credentials.SessionToken}
	body, err := Do(context.Background(), http.DefaultClient, creds, getObject(s.URL, creds))
	require.NoError(t, err)
	assert.Equal(t, "x: 1\n", string(body))

	creds.SecretAccessKey = "wrong"
	_, err = Do(context.Background(), http.DefaultClient, creds, getObject(s.URL, creds))
	require.ErrorContains(t, err, "operation error S3: GetObject, https response error StatusCode: 403, RequestID: stub-request, api error SignatureDoesNotMatch: signature")
	assert.Equal(t, int64(1), s.Rejected.Load(), "a 403 is not retried")
}

// TestDoRetries: a server error is retried, up to 3 attempts in all.
func TestDoRetries(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>`))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	body, err := Do(context.Background(), srv.Client(), Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, getObject(srv.URL, Credentials{}))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))

	calls.Store(-10)
	_, err = Do(context.Background(), srv.Client(), Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, getObject(srv.URL, Credentials{}))
	assert.EqualError(t, err, "operation error S3: GetObject, exceeded maximum number of attempts, 3, https response error StatusCode: 503, RequestID: , api error SlowDown: Reduce your request rate.")
}

func TestEnv(t *testing.T) {
	env := func(kv map[string]string) Env {
		return Env{Lookup: func(k string) (string, bool) { v, ok := kv[k]; return v, ok }}
	}
	_, err := env(nil).Credentials()
	assert.ErrorContains(t, err, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	c, err := env(map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_SESSION_TOKEN": "t"}).Credentials()
	require.NoError(t, err)
	assert.Equal(t, Credentials{AccessKeyID: "a", SecretAccessKey: "b", SessionToken: "t"}, c)

	assert.Equal(t, "eu-west-1", env(map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}).Region())
	assert.Equal(t, "us-east-2", env(map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}).Region())
	assert.Equal(t, "http://127.0.0.1:1", env(map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"}).Endpoint("S3"))
	assert.Equal(t, "http://127.0.0.1:2", env(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2"}).Endpoint("SECRETS_MANAGER"))
}
