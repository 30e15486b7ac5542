// Package loopback holds what the harness, the benchmarks and the
// whole-binary tests need to run the extension off Lambda: free loopback
// ports, and the config overrides that move its listeners onto them
// (sandbox.localdomain resolves only inside Lambda).
package loopback

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowestPort is the bottom of the range FreeAddr draws from; below it are
// the well-known and commonly configured ports.
const lowestPort = 10000

var (
	mu     sync.Mutex
	handed = map[string]bool{}
)

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago and
// that this process has not handed out before. The port is drawn below the
// kernel's ephemeral range, so that until the caller binds it neither a
// client socket nor a listener on port 0 (which is how the kernel hands out
// "free" ports, and may hand out the same one twice in a row) can take it.
func FreeAddr() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if top := ephemeralLow(); top-lowestPort >= 1000 {
		for range 200 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lowestPort+rand.IntN(top-lowestPort)))
			if !handed[addr] && canListen(addr) {
				handed[addr] = true
				return addr, nil
			}
		}
	}
	// No usable range below the ephemeral one: let the kernel pick.
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if !handed[addr] {
			handed[addr] = true
			return addr, nil
		}
	}
}

func canListen(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// ephemeralLow is the first port of Linux's ephemeral range (32768 where it
// cannot be read), read once.
var ephemeralLow = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if n, err := strconv.Atoi(f[0]); err == nil {
			return n
		}
	}
	return 32768
})

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
