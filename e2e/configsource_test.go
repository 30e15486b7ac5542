package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// The layer's extension loads its whole config from S3 or Secrets Manager
// (OPENTELEMETRY_COLLECTOR_CONFIG_URI), as a user would configure it, from a
// loopback endpoint that answers only requests signed with the function
// role's credentials (checked by a signer independent of the one the
// providers use).
func TestConfigFromS3(t *testing.T) {
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	config, err := os.ReadFile(loopbackConfig(t, otlpHTTP))
	require.NoError(t, err)
	s := awsrequesttest.Start(t, map[string]string{"otel-config/lambda/config.yaml": string(config)}, nil)
	testConfigFrom(t, s, be, otlpHTTP, "s3://otel-config.s3.eu-west-1.amazonaws.com/lambda/config.yaml",
		"AWS_ENDPOINT_URL_S3", s.URL, "OTELCOL_LAMBDA_OTLP_ENDPOINT", be.Endpoint())
}

// The config is a secret, and the backend's endpoint one field of another.
func TestConfigFromSecretsManager(t *testing.T) {
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	config, err := os.ReadFile(loopbackConfig(t, otlpHTTP))
	require.NoError(t, err)
	const ref = "${env:OTELCOL_LAMBDA_OTLP_ENDPOINT}"
	require.Contains(t, string(config), ref)
	s := awsrequesttest.Start(t, nil, map[string]string{
		"otel-config":  strings.Replace(string(config), ref, "${secretsmanager:otel-backend#endpoint}", 1),
		"otel-backend": `{"endpoint":"` + be.Endpoint() + `"}`,
	})
	testConfigFrom(t, s, be, otlpHTTP, "secretsmanager:otel-config", "AWS_ENDPOINT_URL_SECRETS_MANAGER", s.URL)
}

func testConfigFrom(t *testing.T, s *awsrequesttest.Server, be backend, otlpHTTP, uri string, env ...string) {
	fn := samplefunction.New("http://"+otlpHTTP, 10*time.Millisecond)
	defer fn.Close()
	r := startLauncher(t, nil, s.EnvList(append([]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI", uri}, env...)...), fn.Handle)
	require.NoError(t, r.waitInit(t), r.out.String())
	results := r.invoke(t, 3)
	r.shutdown(t)
	invocations, ok := be.lastSum("faas.invocations")
	require.True(t, ok, "faas.invocations exported\n%s", r.out.String())
	assert.Equal(t, int64(len(results)), invocations)
	assert.Zero(t, s.Rejected.Load(), "every request was correctly signed")
	assert.Empty(t, r.errorLines())
	assert.Empty(t, r.initErrors())
}
