// Package configuri says which collector config a process that Lambda
// started loads, with no dependencies: the receiver (which supplies OCB's
// main the --config flag Lambda cannot pass) and the layer's launcher (which
// checks the layer's own config can load before it starts the collector)
// must agree on it.
package configuri

import "strings"

const (
	// Env names the collector config, as in the upstream OpenTelemetry Lambda
	// layer, so users can switch layers.
	Env = "OPENTELEMETRY_COLLECTOR_CONFIG_URI"
	// Layer is the config file the layer ships (Lambda extracts layers under /opt).
	Layer = "/opt/collector-config/config.yaml"
)

// Given reports whether args (without the program name) name a config
// with the collector's --config flag.
func Given(args []string) bool {
	for _, a := range args {
		if a == "--config" || a == "-config" || strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config=") {
			return true
		}
	}
	return false
}

// Default is the config a collector started without --config loads: Env's
// value when set, else Layer.
func Default(getenv func(string) string) string {
	if uri := getenv(Env); uri != "" {
		return uri
	}
	return Layer
}
