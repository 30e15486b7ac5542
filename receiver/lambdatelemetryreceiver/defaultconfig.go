package lambdatelemetryreceiver

import (
	"os"
	"strings"
)

// ConfigURIEnv names the collector config when Lambda starts the extension,
// as in the upstream OpenTelemetry Lambda layer, so users can switch layers.
const ConfigURIEnv = "OPENTELEMETRY_COLLECTOR_CONFIG_URI"

// DefaultConfigURI is the config file the layer ships.
const DefaultConfigURI = "/opt/collector-config/config.yaml"

// Lambda starts extensions without arguments, and OCB's generated main
// requires --config. A component cannot change main, so when this package is
// linked into a binary that Lambda started (AWS_LAMBDA_RUNTIME_API set, no
// config flag given), it supplies the flag before main parses it. Binaries
// started any other way are left alone.
func init() {
	os.Args = withDefaultConfig(os.Args, os.LookupEnv)
}

func withDefaultConfig(args []string, lookup func(string) (string, bool)) []string {
	if _, inLambda := lookup("AWS_LAMBDA_RUNTIME_API"); !inLambda || len(args) == 0 {
		return args
	}
	for _, a := range args[1:] {
		if a == "--config" || a == "-config" || strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config=") {
			return args
		}
	}
	uri, ok := lookup(ConfigURIEnv)
	if !ok || uri == "" {
		uri = DefaultConfigURI
	}
	return append(args[:1:1], append([]string{"--config=" + uri}, args[1:]...)...)
}
