// Package lambdatelemetryreceiver runs the Lambda extension lifecycle inside
// the collector: it registers with the Extensions API, subscribes to the
// Telemetry API, turns platform events and function/extension logs into
// correlated OTLP, and flushes the whole pipeline before Lambda freezes the
// execution environment. See README.md for the design.
package lambdatelemetryreceiver // import "github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"
