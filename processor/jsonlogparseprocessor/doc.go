// Package jsonlogparseprocessor turns JSON log lines into structured,
// trace-correlated log records: trace context, severity, timestamp and body
// come from the fields real loggers write, and the remaining fields become
// attributes. Lines that are not JSON objects pass through untouched.
//
// internal/metadata is written by hand in mdatagen's shape (see metadata.yaml).
package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"
