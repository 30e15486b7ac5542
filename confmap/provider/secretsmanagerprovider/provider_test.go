package secretsmanagerprovider

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lambda-o11y/otelcol-lambda/confmap/provider/internal/awsrequest"
	"github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"
)

const arn = "arn:aws:secretsmanager:us-east-2:123456789012:secret:otel-abc123"

func startServer(t *testing.T) *awsrequesttest.Server {
	return awsrequesttest.Start(t, nil, map[string]string{
		"config": "exporters:\n  otlp_http:\n    endpoint: https://otlp.example.com\n",
		"token":  "0123",
		"json":   `{"api_key":"k-1","port":4318}`,
	})
}

func newProvider(lookup func(string) (string, bool)) (*provider, *observer.ObservedLogs) {
	core, logs := observer.New(zap.WarnLevel)
	return &provider{env: awsrequest.Env{Lookup: lookup}, client: &http.Client{}, logger: zap.New(core)}, logs
}

func TestRetrieve(t *testing.T) {
	s := startServer(t)
	p, logs := newProvider(s.Env("AWS_ENDPOINT_URL_SECRETS_MANAGER", s.URL))
	get := func(uri string) any {
		t.Helper()
		ret, err := p.Retrieve(context.Background(), uri, nil)
		require.NoError(t, err)
		raw, err := ret.AsRaw()
		require.NoError(t, err)
		return raw
	}

	// A whole config.
	ret, err := p.Retrieve(context.Background(), "secretsmanager:config", nil)
	require.NoError(t, err)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	assert.Equal(t, "https://otlp.example.com", conf.Get("exporters::otlp_http::endpoint"))

	// A value: inside a string it keeps its text.
	ret, err = p.Retrieve(context.Background(), "secretsmanager:token", nil)
	require.NoError(t, err)
	str, err := ret.AsString()
	require.NoError(t, err)
	assert.Equal(t, "0123", str)

	assert.Equal(t, "k-1", get("secretsmanager:json#api_key"))
	assert.Equal(t, float64(4318), get("secretsmanager:json#port"))
	assert.Equal(t, "fallback", get("secretsmanager:json#missing:-fallback"))
	assert.Equal(t, "fallback", get("secretsmanager::-fallback"))
	assert.Equal(t, 2, logs.Len(), "each default is logged")
	assert.Zero(t, s.Rejected.Load())
}

// TestRegionFromARN: a secret named by ARN is asked for in the ARN's region.
func TestRegionFromARN(t *testing.T) {
	s := startServer(t)
	s.Region = "us-east-2"
	s.Secrets[arn] = "v"
	p, _ := newProvider(s.Env("AWS_ENDPOINT_URL", s.URL)) // AWS_REGION is eu-west-1
	ret, err := p.Retrieve(context.Background(), "secretsmanager:"+arn, nil)
	require.NoError(t, err)
	raw, err := ret.AsRaw()
	require.NoError(t, err)
	assert.Equal(t, "v", raw)
}

func TestRetrieveErrors(t *testing.T) {
	s := startServer(t)
	withEndpoint := s.Env("AWS_ENDPOINT_URL_SECRETS_MANAGER", s.URL)
	for name, tc := range map[string]struct {
		uri    string
		lookup func(string) (string, bool)
		want   string
	}{
		"no such secret": {"secretsmanager:missing", withEndpoint,
			"error getting secret: operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: stub-request, api error ResourceNotFoundException: Secrets Manager can't find the specified secret."},
		"wrong secret key": {"secretsmanager:config", func(k string) (string, bool) {
			if k == "AWS_SECRET_ACCESS_KEY" {
				return "not-the-secret", true
			}
			return withEndpoint(k)
		}, "api error InvalidSignatureException: signature"},
		"field missing":  {"secretsmanager:json#missing", withEndpoint, `field "missing" not found in secret map`},
		"not json":       {"secretsmanager:config#key", withEndpoint, "error unmarshalling secret string"},
		"no credentials": {"secretsmanager:config", func(string) (string, bool) { return "", false }, "failed to retrieve credentials"},
		"no region": {"secretsmanager:config", func(k string) (string, bool) {
			if k == "AWS_REGION" {
				return "", false
			}
			return withEndpoint(k)
		}, "no region: set AWS_REGION or name the secret by its ARN"},
		"wrong scheme": {"env:X", withEndpoint, `"env:X" uri is not supported by "secretsmanager" provider`},
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := newProvider(tc.lookup)
			_, err := p.Retrieve(context.Background(), tc.uri, nil)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestFactory(t *testing.T) {
	p := NewFactory().Create(confmaptest.NewNopProviderSettings())
	assert.Equal(t, "secretsmanager", p.Scheme())
	require.NoError(t, p.Shutdown(context.Background()))
}
