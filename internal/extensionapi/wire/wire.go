// Package wire names the Extensions API's paths and headers and the
// handover of a registration, with no dependencies: both the collector's
// client (internal/extensionapi, over net/http) and the layer's launcher
// (over rawhttp, which keeps it small) use it.
package wire

const (
	// ExtensionPath is the Extensions API's base path.
	ExtensionPath = "/2020-01-01/extension"

	HeaderName       = "Lambda-Extension-Name"
	HeaderIdentifier = "Lambda-Extension-Identifier"
	HeaderFeature    = "Lambda-Extension-Accept-Feature"
	HeaderErrorType  = "Lambda-Extension-Function-Error-Type"

	// A launcher registers the extension as soon as Lambda starts it, then
	// runs the collector as its child and hands the registration over in
	// these variables; the receiver then skips its own /register.
	EnvHandoverID           = "OTELCOL_LAMBDA_EXTENSION_ID"
	EnvHandoverRegistration = "OTELCOL_LAMBDA_REGISTRATION"
)
