//go:generate mdatagen metadata.yaml

// Package logstometricsconnector derives metrics (counters, histograms,
// exponential histograms, gauges) from log records, aggregates them per
// resource, and emits them when the Lambda lifecycle drains the pipeline,
// at shutdown, or on an optional interval.
package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"
