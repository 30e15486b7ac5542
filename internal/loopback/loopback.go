// Package loopback holds what the harness, the benchmarks and the
// whole-binary tests need to run the extension off Lambda: free loopback
// ports, and the config overrides that move its listeners onto them
// (sandbox.localdomain resolves only inside Lambda).
package loopback

import "net"

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// CollectorArgs are the extension's command-line config: the file, with the
// Telemetry API listener on a free loopback port and the OTLP receiver on
// otlpHTTP and otlpGRPC.
func CollectorArgs(config, otlpHTTP, otlpGRPC string) []string {
	return []string{
		"--config=file:" + config,
		"--config=yaml:receivers::lambdatelemetry::endpoint: 127.0.0.1:0",
		"--config=yaml:receivers::otlp::protocols::http::endpoint: " + otlpHTTP,
		"--config=yaml:receivers::otlp::protocols::grpc::endpoint: " + otlpGRPC,
	}
}
