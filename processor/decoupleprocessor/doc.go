// Package decoupleprocessor is a durable, size-bounded spool on local disk
// at the end of a pipeline, in front of its exporter: ConsumeX writes the
// data to a file and returns, and a sender per signal passes it to the
// exporter in the background, retrying until the backend takes it, so a
// Lambda function never waits for the backend and an outage loses nothing
// until the spool is full (then the oldest data goes, counted). Before
// Lambda freezes the environment the lambdatelemetry receiver drains it
// through lambdalifecycle; outside Lambda it is a persistent queue.
//
// internal/metadata is written by hand in mdatagen's shape (see metadata.yaml).
package decoupleprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor"
