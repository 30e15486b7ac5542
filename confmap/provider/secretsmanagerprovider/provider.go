// Package secretsmanagerprovider is a confmap.Provider for the
// "secretsmanager" scheme, with the URI format and errors of the contrib
// secretsmanagerprovider, that reads the secret with one signed HTTP request
// instead of the AWS SDK's Secrets Manager client.
package secretsmanagerprovider // import "github.com/lambda-o11y/otelcol-lambda/confmap/provider/secretsmanagerprovider"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/confmap/provider/internal/awsrequest"
)

const schemeName = "secretsmanager"

type provider struct {
	env    awsrequest.Env
	client *http.Client
	logger *zap.Logger
}

// NewFactory returns a factory for the "secretsmanager" scheme:
//
//	secretsmanager:NAME_OR_ARN                     the secret string
//	secretsmanager:NAME_OR_ARN#KEY                 one field of a JSON secret
//	secretsmanager:NAME_OR_ARN#KEY:-DEFAULT        DEFAULT if the field is missing
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(ps confmap.ProviderSettings) confmap.Provider {
		return &provider{env: awsrequest.OSEnv, client: &http.Client{}, logger: ps.Logger}
	})
}

func (p *provider) Retrieve(ctx context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if !strings.HasPrefix(uri, schemeName+":") {
		return nil, fmt.Errorf("%q uri is not supported by %q provider", uri, schemeName)
	}
	selector, defaultValue, hasDefault := strings.Cut(strings.TrimPrefix(uri, schemeName+":"), ":-")
	secretID, jsonKey, hasJSONKey := strings.Cut(selector, "#")
	if secretID == "" && hasDefault {
		p.logger.Warn("secret manager selector empty, falling back to default value")
		return confmap.NewRetrieved(defaultValue)
	}

	secret, err := p.getSecretValue(ctx, secretID)
	if err != nil {
		return nil, fmt.Errorf("error getting secret: %w", err)
	}
	if !hasJSONKey {
		// As YAML, as the env provider does: a secret that holds a whole
		// config can be the config, and one used inside a string keeps its
		// text.
		return confmap.NewRetrievedFromYAML([]byte(secret))
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(secret), &fields); err != nil {
		return nil, fmt.Errorf("error unmarshalling secret string: %w", err)
	}
	value, ok := fields[jsonKey]
	if !ok {
		if hasDefault {
			p.logger.Warn("field not found in secret map, falling back to default value")
			return confmap.NewRetrieved(defaultValue)
		}
		return nil, fmt.Errorf("field %q not found in secret map", jsonKey)
	}
	return confmap.NewRetrieved(value)
}

func (*provider) Scheme() string { return schemeName }

func (*provider) Shutdown(context.Context) error { return nil }

// getSecretValue is Secrets Manager GetSecretValue (JSON 1.1 protocol). The
// region is the ARN's when the id is an ARN (a request to any other region
// cannot find it), else AWS_REGION; the endpoint is the region's, or the AWS
// SDK's override AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL.
func (p *provider) getSecretValue(ctx context.Context, secretID string) (string, error) {
	creds, err := p.env.Credentials()
	if err != nil {
		return "", err
	}
	region := p.env.Region()
	if arn := strings.Split(secretID, ":"); len(arn) >= 7 && arn[0] == "arn" && arn[2] == schemeName {
		region = arn[3]
	}
	if region == "" {
		return "", errors.New("no region: set AWS_REGION or name the secret by its ARN")
	}
	endpoint := p.env.Endpoint("SECRETS_MANAGER")
	if endpoint == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		endpoint = "https://secretsmanager." + region + "." + domain
	}
	reqBody, err := json.Marshal(map[string]string{"SecretId": secretID})
	if err != nil {
		return "", err
	}
	body, err := awsrequest.Do(ctx, p.client, creds, awsrequest.Request{
		Service: "Secrets Manager", Operation: "GetSecretValue", SigningName: "secretsmanager", Region: region,
		Method: http.MethodPost, URL: endpoint + "/",
		Header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"secretsmanager.GetSecretValue"},
		},
		Body: reqBody,
	})
	if err != nil {
		return "", err
	}
	var out struct{ SecretString *string }
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("operation error Secrets Manager: GetSecretValue, deserialization failed, %w", err)
	}
	if out.SecretString == nil {
		// contrib returns no value here and the resolver then fails on it;
		// say why instead.
		return "", fmt.Errorf("secret %q has no SecretString (a binary secret cannot be used in a config)", secretID)
	}
	return *out.SecretString, nil
}
