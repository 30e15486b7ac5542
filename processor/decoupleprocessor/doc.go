// Package decoupleprocessor accepts data at once and passes it downstream
// from its own goroutine, so a Lambda function's OTLP export returns at
// loopback speed instead of waiting for the backend; before Lambda freezes
// the environment the lambdatelemetry receiver drains it through
// lambdalifecycle.
package decoupleprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor"
