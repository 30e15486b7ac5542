// Package bodylimitextension is an HTTP server middleware for confighttp
// listeners (the OTLP receiver's among them): a request whose body exceeds
// max_request_body_size is answered 413 with a message naming the limit,
// where the stock server answers 400, and counted in-band.
//
// internal/metadata is written by hand in mdatagen's shape (see metadata.yaml).
package bodylimitextension // import "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"
