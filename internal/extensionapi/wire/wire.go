// Package wire names the Extensions API's paths and headers, the handover of
// a registration and the relay's lines, with no dependencies beyond
// encoding/json: both the collector's client (internal/extensionapi, over
// net/http) and the layer's launcher (over rawhttp, which keeps it small)
// use it.
package wire

import "encoding/json"

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

	// EnvRelay names the launcher's event relay, "R,W": the child reads one
	// RelayedEvent per line from file descriptor R and writes one RelayAck
	// per line to W. The launcher then owns /event/next (see RelayAck).
	EnvRelay = "OTELCOL_LAMBDA_EVENT_RELAY"

	// EnvInitializationType is how Lambda tells an extension its execution
	// model; InitManagedInstances is Lambda Managed Instances', where an
	// environment serves several invocations at once, is never frozen, and
	// extensions cannot register for INVOKE.
	EnvInitializationType = "AWS_LAMBDA_INITIALIZATION_TYPE"
	InitManagedInstances  = "lambda-managed-instances"

	// EnvGCPercentWhenReady is the GOGC the collector runs with once ready.
	// A launcher that bounds its heap with GOMEMLIMIT starts it with GC off
	// (GOGC=off) and this set: Init then spends no time in GC cycles at a
	// small heap goal, and the receiver sets the GC percent before its first
	// /event/next.
	EnvGCPercentWhenReady = "OTELCOL_LAMBDA_GOGC_WHEN_READY"
)

// ManagedInstances reports whether initType (the value of
// EnvInitializationType) is Lambda Managed Instances.
func ManagedInstances(initType string) bool { return initType == InitManagedInstances }

// RegisterBody is the /register body for the execution model initType:
// INVOKE and SHUTDOWN, or SHUTDOWN only on Lambda Managed Instances (which
// refuses INVOKE; invocations are learnt from the Telemetry API there).
func RegisterBody(initType string) []byte {
	if ManagedInstances(initType) {
		return []byte(`{"events":["SHUTDOWN"]}`)
	}
	return []byte(`{"events":["INVOKE","SHUTDOWN"]}`)
}

// RelayedEvent is one line of the relay: the event /event/next returned, when
// it arrived, and whether the relay already called /event/next again
// without waiting for the child (Acknowledged).
type RelayedEvent struct {
	ArrivedMs    int64 `json:"arrivedMs"`
	Acknowledged bool  `json:"acknowledged"`
	// Event is the API's JSON, compacted to one line.
	Event json.RawMessage `json:"event"`
}

// RelayAck is one line the child writes when it is done with an event (the
// first one: when it is ready, where it would call /event/next). The relay
// calls /event/next for the child once every event is acknowledged, or at
// once for an INVOKE that arrives before NonBlockingUntilMs (Unix ms; 0:
// never): the child's flush policy does not hold the environment for it.
type RelayAck struct {
	NonBlockingUntilMs int64 `json:"nonBlockingUntilMs"`
	// Update: the line only changes NonBlockingUntilMs and acknowledges
	// nothing (the child's flush policy changed its mind while waiting).
	Update bool `json:"update,omitempty"`
}
