package s3provider

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/lambda-o11y/otelcol-lambda/confmap/provider/internal/awsrequest"
	"github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"
)

const config = "receivers:\n  otlp:\n    protocols:\n      http:\n"

func startServer(t *testing.T) *awsrequesttest.Server {
	return awsrequesttest.Start(t, map[string]string{"my-bucket/dir/config.yaml": config, "my.dotted.bucket/config.yaml": config}, nil)
}

func newProvider(lookup func(string) (string, bool)) *provider {
	return &provider{env: awsrequest.Env{Lookup: lookup}, client: &http.Client{}}
}

func TestRetrieve(t *testing.T) {
	s := startServer(t)
	host := strings.TrimPrefix(s.URL, "http://")
	for name, tc := range map[string]struct {
		uri   string
		extra []string
	}{
		"path-style":                    {"s3://" + host + "/my-bucket/dir/config.yaml?region=eu-west-1&insecure=true", nil},
		"path-style, region from env":   {"s3://" + host + "/my-bucket/dir/config.yaml?insecure=true", nil},
		"virtual-hosted, endpoint url":  {"s3://my-bucket.s3.eu-west-1.amazonaws.com/dir/config.yaml", []string{"AWS_ENDPOINT_URL_S3", s.URL}},
		"virtual-hosted, dotted bucket": {"s3://my.dotted.bucket.s3.eu-west-1.amazonaws.com/config.yaml", []string{"AWS_ENDPOINT_URL", s.URL}},
		"virtual-hosted, s3 url first":  {"s3://my-bucket.s3.eu-west-1.amazonaws.com/dir/config.yaml", []string{"AWS_ENDPOINT_URL", "http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3", s.URL}},
	} {
		t.Run(name, func(t *testing.T) {
			ret, err := newProvider(s.Env(tc.extra...)).Retrieve(context.Background(), tc.uri, nil)
			require.NoError(t, err)
			conf, err := ret.AsConf()
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"http": nil}}}}, conf.ToStringMap())
		})
	}
	assert.Zero(t, s.Rejected.Load())
}

func TestRetrieveErrors(t *testing.T) {
	s := startServer(t)
	good := "s3://my-bucket.s3.eu-west-1.amazonaws.com/dir/config.yaml"
	for name, tc := range map[string]struct {
		uri    string
		lookup func(string) (string, bool)
		want   string
	}{
		"no such key": {"s3://my-bucket.s3.eu-west-1.amazonaws.com/missing.yaml", s.Env("AWS_ENDPOINT_URL_S3", s.URL),
			`file in S3 failed to fetch uri "s3://my-bucket.s3.eu-west-1.amazonaws.com/missing.yaml": operation error S3: GetObject, https response error StatusCode: 404, RequestID: stub-request, api error NoSuchKey: The specified key does not exist.`},
		"wrong secret": {good, func(k string) (string, bool) {
			if k == "AWS_SECRET_ACCESS_KEY" {
				return "not-the-secret", true
			}
			return s.Env("AWS_ENDPOINT_URL_S3", s.URL)(k)
		}, "api error SignatureDoesNotMatch: signature"},
		"no credentials": {good, func(string) (string, bool) { return "", false },
			"failed to retrieve credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"},
		"wrong scheme": {"s4://bucket/key", s.Env(), `"s4://bucket/key" uri is not valid s3-url: uri scheme must be "s3", got "s4"`},
		"no key":       {"s3://example.com/bucket", s.Env(), "invalid s3-uri: for S3-compatible services use s3://[ENDPOINT_HOST]/[BUCKET]/[KEY]"},
		"no bucket":    {"s3://example.com/", s.Env(), "invalid s3-uri"},
		"not a uri":    {"s3://[::1", s.Env(), "failed to parse s3 uri"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newProvider(tc.lookup).Retrieve(context.Background(), tc.uri, nil)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestParseURI: the contrib provider's URI cases.
func TestParseURI(t *testing.T) {
	for uri, want := range map[string]location{
		"s3://bucket.s3.us-west-2.amazonaws.com/key":                    {"https", "bucket.s3.us-west-2.amazonaws.com", true, "bucket", "key", "us-west-2"},
		"s3://bucket.s3-fips.dualstack.us-gov-west-1.amazonaws.com/a/b": {"https", "bucket.s3-fips.dualstack.us-gov-west-1.amazonaws.com", true, "bucket", "a/b", "us-gov-west-1"},
		"s3://bucket.s3.cn-north-1.amazonaws.com.cn/key":                {"https", "bucket.s3.cn-north-1.amazonaws.com.cn", true, "bucket", "key", "cn-north-1"},
		"s3://minio.example.com/my-bucket/config.yaml":                  {"https", "minio.example.com", false, "my-bucket", "config.yaml", ""},
		"s3://localhost:9000/b/k/x.yaml?region=us-east-1&insecure=true": {"http", "localhost:9000", false, "b", "k/x.yaml", "us-east-1"},
	} {
		got, err := parseURI(uri)
		require.NoError(t, err, uri)
		assert.Equal(t, want, got, uri)
	}
}

func TestFactory(t *testing.T) {
	p := NewFactory().Create(confmaptest.NewNopProviderSettings())
	assert.Equal(t, "s3", p.Scheme())
	require.NoError(t, p.Shutdown(context.Background()))
}
