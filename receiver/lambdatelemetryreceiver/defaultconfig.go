package lambdatelemetryreceiver

import (
	"os"

	"github.com/lambda-o11y/otelcol-lambda/internal/configuri"
)

// Lambda starts extensions without arguments, and OCB's generated main
// requires --config. A component cannot change main, so when this package is
// linked into a binary that Lambda started (AWS_LAMBDA_RUNTIME_API set, no
// config flag given), it supplies the flag before main parses it: the config
// OPENTELEMETRY_COLLECTOR_CONFIG_URI names, else the layer's (configuri).
// Binaries started any other way are left alone.
func init() {
	os.Args = withDefaultConfig(os.Args, os.LookupEnv)
}

func withDefaultConfig(args []string, lookup func(string) (string, bool)) []string {
	if _, inLambda := lookup("AWS_LAMBDA_RUNTIME_API"); !inLambda || len(args) == 0 || configuri.Given(args[1:]) {
		return args
	}
	uri := configuri.Default(func(k string) string { v, _ := lookup(k); return v })
	return append(args[:1:1], append([]string{"--config=" + uri}, args[1:]...)...)
}
