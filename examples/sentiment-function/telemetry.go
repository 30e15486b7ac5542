package main

import (
	"context"
	"os"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// serviceName is OTEL_SERVICE_NAME, else the Lambda function's name.
func serviceName() string {
	if s := os.Getenv("OTEL_SERVICE_NAME"); s != "" {
		return s
	}
	if s := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); s != "" {
		return s
	}
	return "sentiment-function"
}

// newTracerProvider exports over OTLP/HTTP to the collector extension on
// localhost:4318 unless the standard OTEL_EXPORTER_OTLP_* variables say
// otherwise. The handler force-flushes it at the end of every invocation.
func newTracerProvider(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	var opts []otlptracehttp.Option
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		// The SDK's default endpoint is localhost:4318 over HTTPS; the
		// extension listens in plain HTTP inside the sandbox.
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(service), semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda}
	for env, attr := range map[string]func(string) attribute.KeyValue{
		"AWS_REGION":                  semconv.CloudRegion,
		"AWS_LAMBDA_FUNCTION_NAME":    semconv.FaaSName,
		"AWS_LAMBDA_FUNCTION_VERSION": semconv.FaaSVersion,
	} {
		if v := os.Getenv(env); v != "" {
			attrs = append(attrs, attr(v))
		}
	}
	// WithFromEnv last: OTEL_RESOURCE_ATTRIBUTES overrides the defaults above.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		// X-Ray-compatible ids for traces this function starts itself
		// (no trace header, e.g. a local run).
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
	), nil
}
