// Package gatewaytest runs the gateway distribution's binary (`make
// gateway`) as a plain process on loopback, for the whole-binary tests of
// e2e and e2e/realbackends: a replica with gateway/config.yaml, or the front
// tier with gateway/config-front.yaml in front of replicas.
package gatewaytest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// Gateway is one gateway process, its OTLP listeners on loopback. Start and
// Stop may be called again (a replica restart) on the same addresses, with
// Args and Env changed in between if the test wants.
type Gateway struct {
	HTTP, GRPC string   // OTLP/HTTP and OTLP/gRPC listeners
	Args       []string // --config=file:<config>, then the extra --config flags
	Env        []string // the whole environment

	t       testing.TB
	bin     string
	mu      sync.Mutex
	cmd     *exec.Cmd
	output  bytes.Buffer
	exited  chan struct{}
	exitErr error
}

// Start runs bin with the config file at config and env (NAME=value) over
// the config's defaults; extra are more --config flags. It returns once
// the process listens and stops it at cleanup.
func Start(t testing.TB, bin, config string, env []string, extra ...string) *Gateway {
	t.Helper()
	g := &Gateway{t: t, bin: bin, HTTP: freeAddr(t), GRPC: freeAddr(t)}
	_, telemetryPort, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	g.Args = append([]string{"--config=file:" + config}, extra...)
	g.Env = append(append(os.Environ(),
		"GATEWAY_OTLP_HTTP_ENDPOINT="+g.HTTP,
		"GATEWAY_OTLP_GRPC_ENDPOINT="+g.GRPC,
		"GATEWAY_TELEMETRY_HOST=127.0.0.1",
		"GATEWAY_TELEMETRY_PORT="+telemetryPort,
		"GATEWAY_LOG_LEVEL=warn",
	), env...)
	g.Start()
	t.Cleanup(g.Stop)
	return g
}

// FrontArgs are the environment and --config flags of a front tier
// (config-front.yaml) in front of replicas, over plaintext gRPC on
// loopback, retrying a replica that is down every 100-500 ms instead of
// from 5 s.
func FrontArgs(replicas ...*Gateway) (env, extra []string) {
	list := "["
	for i, r := range replicas {
		if i > 0 {
			list += ", "
		}
		list += r.GRPC
	}
	return []string{"GATEWAY_REPLICAS=" + list + "]", "GATEWAY_REPLICAS_INSECURE=true"},
		[]string{
			"--config=yaml:exporters::loadbalancing::protocol::otlp::retry_on_failure::initial_interval: 100ms",
			"--config=yaml:exporters::loadbalancing::protocol::otlp::retry_on_failure::max_interval: 500ms",
		}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	require.NoError(t, err)
	return addr
}

// Start starts the process (again) and waits until its OTLP/HTTP listener
// accepts (the receivers start last).
func (g *Gateway) Start() {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cmd = exec.Command(g.bin, g.Args...)
	g.cmd.Env = g.Env
	g.cmd.Stdout, g.cmd.Stderr = &g.output, &g.output
	require.NoError(g.t, g.cmd.Start())
	g.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		err := cmd.Wait()
		g.mu.Lock()
		g.exitErr = err
		g.mu.Unlock()
		close(exited)
	}(g.cmd, g.exited)
	require.Eventually(g.t, func() bool {
		select {
		case <-g.exited:
			return true
		default:
		}
		c, err := net.Dial("tcp", g.HTTP)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond)
	select {
	case <-g.exited:
		g.t.Fatalf("gateway exited at start: %v\n%s", g.exitErr, g.output.String())
	default:
	}
}

// Stop ends the process with SIGTERM, as an orchestrator does, and checks
// that it shut down cleanly.
func (g *Gateway) Stop() {
	g.mu.Lock()
	cmd, exited := g.cmd, g.exited
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.NoError(g.t, g.exitErr, "gateway exit\n%s", g.output.String())
	g.cmd = nil
}

// Pid is the running process's id.
func (g *Gateway) Pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cmd.Process.Pid
}

// String is the process output, for failure messages.
func (g *Gateway) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.output.String()
}
