// Command launcher is what Lambda starts as /opt/extensions/otelcol-lambda.
//
// Lambda holds the function's init until every extension has registered, and
// the collector registers only once its whole service is built (about 45 ms
// after exec). The launcher, a small static binary, registers at exec and
// runs the collector as its child with the registration handed over
// (internal/extensionapi, handover.go), so the function's init starts at once.
// It speaks to the Extensions API over a minimal HTTP/1.1 client (api.go,
// internal/extensionapi/rawhttp): net/http would be most of its size and memory.
//
// Observability must not take the function down:
//   - the layer's own config with OTELCOL_LAMBDA_OTLP_ENDPOINT unset: one
//     ERROR line, no collector, and the lifecycle is served as a no-op
//     extension (OTELCOL_LAMBDA_STRICT=true reports /init/error instead);
//   - a collector that fails before its first /event/next (a config that
//     cannot load, an unknown component): its own error is reported through
//     /init/error, so it shows in the function's Init error;
//   - a collector that dies later: one ERROR line, and the launcher serves the
//     lifecycle as a no-op until SHUTDOWN.
//
// Once the collector is ready, the launcher owns /event/next and relays the
// events to it (relay.go): an INVOKE its flush policy does not hold is let go
// from here at once, however busy the collector's threads are.
//
// Without AWS_LAMBDA_RUNTIME_API (not started by Lambda) it execs the
// collector with its arguments, so `otelcol-lambda validate --config=...` works.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lambda-o11y/otelcol-lambda/internal/configuri"
	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

const (
	envCollector = "OTELCOL_LAMBDA_COLLECTOR"
	envStrict    = "OTELCOL_LAMBDA_STRICT"
	envEndpoint  = "OTELCOL_LAMBDA_OTLP_ENDPOINT"
	// defaultCollector is where the layer puts the collector: outside
	// /opt/extensions, which Lambda would start as a second extension.
	defaultCollector = "/opt/otelcol-lambda/collector"

	errTypeConfig = "Extension.ConfigInvalid"
)

func main() { os.Exit(run()) }

func run() int {
	collector := cmp.Or(os.Getenv(envCollector), defaultCollector)
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		err := syscall.Exec(collector, append([]string{collector}, os.Args[1:]...), os.Environ())
		logError(fmt.Sprintf("not started by Lambda (AWS_LAMBDA_RUNTIME_API is unset), and running the collector failed: %v", err))
		return 1
	}
	// Before registering: a SIGTERM from here on is forwarded or ends the
	// no-op loop cleanly.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	client := &apiClient{addr: api, initType: os.Getenv(wire.EnvInitializationType)}
	if err := client.register(context.Background(), filepath.Base(os.Args[0])); err != nil {
		logError(err.Error())
		return 1
	}

	if gap := configGap(os.Args[1:], os.Getenv); gap != "" {
		if strict, _ := strconv.ParseBool(os.Getenv(envStrict)); strict {
			logError(gap + " (" + envStrict + "=true: failing Init)")
			return reportInitError(client, gap)
		}
		logError(gap + "; telemetry is off for this execution environment, the function runs normally (" +
			envStrict + "=true fails Init instead)")
		return serveNoop(client, sigs)
	}

	rl, childFiles, err := newRelay(client)
	if err != nil {
		return collectorFailed(client, sigs, "not started", "event relay: "+err.Error())
	}
	var stderr tail
	cmd := exec.Command(collector, os.Args[1:]...)
	cmd.Env = append(append(os.Environ(), append(client.handoverEnv(), relayEnv)...), gcSettings(os.Getenv)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, io.MultiWriter(os.Stderr, &stderr)
	cmd.ExtraFiles = childFiles
	// The child stays in our process group (a freeze stops both), and dies
	// with us rather than outlive the extension Lambda knows.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	for _, f := range childFiles {
		f.Close() // the child has its copies: its exit closes the pipes
	}
	if err != nil {
		return collectorFailed(client, sigs, "not started", err.Error())
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lifecycle := make(chan error, 1)
	go func() { lifecycle <- rl.run(context.Background()) }()

	terminating, running, serving := false, true, true
	code := 0
	for running || serving {
		select {
		case sig := <-sigs:
			if !running {
				return code
			}
			terminating = true
			_ = cmd.Process.Signal(sig)
		case err := <-exited:
			running = false
			switch {
			case terminating && err == nil:
				return 0
			case terminating:
				return max(cmd.ProcessState.ExitCode(), 1)
			case err == nil && rl.shutdown.Load(): // served SHUTDOWN and stopped
			case !rl.started.Load():
				// Failed during Init: the relay never called /event/next.
				// Wait returned, so the copy into stderr is complete.
				if serving {
					<-lifecycle
				}
				return collectorFailed(client, sigs, exitStatus(err), stderr.lastError())
			default:
				logError("the collector exited (" + exitStatus(err) + ") after Init; telemetry is off for this execution environment, the function runs normally. Its last output: " +
					strings.ReplaceAll(stderr.lastError(), "\n", " | "))
			}
		case err := <-lifecycle:
			serving = false
			if err != nil && !errors.Is(err, errNotReady) {
				logError(err.Error())
				code = 1
			}
		}
	}
	return code
}

// exitStatus says how the collector ended (err from cmd.Wait).
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// gcSettings gives the collector a soft heap limit (GOMEMLIMIT) of a quarter
// of the function's memory, at least 32 MiB, unless the user set one: its
// memory counts against the function's, and after a burst (a backlog, a huge
// request) the Go runtime then collects and returns memory to the OS instead
// of growing towards an out-of-memory kill of the whole environment.
//
// Under that limit, and unless the user set GOGC, the collector starts with
// GC off and turns it on (GOGC 100) when ready (wire.EnvGCPercentWhenReady):
// its Init allocates mostly short-lived copies of the config, and at the
// runtime's 4 MiB starting heap goal GC took 14% of its CPU (issue 10). Off,
// exec to ready is 15% shorter (BENCHMARKS.md, "Start-up against a minimal
// stock build"). The limit still bounds the heap.
func gcSettings(getenv func(string) string) []string {
	var env []string
	limited := getenv("GOMEMLIMIT") != ""
	if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); !limited && err == nil && mb > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(max(mb/4, 32), 10)+"MiB")
		limited = true
	}
	if limited && getenv("GOGC") == "" {
		env = append(env, "GOGC=off", wire.EnvGCPercentWhenReady+"=100")
	}
	return env
}

// configGap says why the layer's own config cannot load: its one input from
// the environment, the endpoint, is unset. It is "" when the collector gets
// another config (--config arguments or OPENTELEMETRY_COLLECTOR_CONFIG_URI:
// configuri, which the receiver also follows).
func configGap(args []string, getenv func(string) string) string {
	if configuri.Given(args) {
		return ""
	}
	if uri := strings.TrimPrefix(getenv(configuri.Env), "file:"); uri != "" && uri != configuri.Layer {
		return ""
	}
	if strings.TrimSpace(getenv(envEndpoint)) != "" {
		return ""
	}
	return envEndpoint + " is not set: set it to your backend's OTLP/HTTP endpoint (e.g. https://otlp.example.com:4318), or " +
		configuri.Env + " to your own collector config"
}

// collectorFailed handles a collector that ended during Init (or never
// started): status says how, msg is its last error. Its own error goes to
// /init/error, so it shows in the function's Init error. Lambda accepts that
// only from an extension that has not yet called /event/next (it answers 403
// Extension.InvalidExtensionState afterwards): if it refuses, the function
// must keep running, with a no-op extension.
func collectorFailed(client *apiClient, sigs <-chan os.Signal, status, msg string) int {
	report := cmp.Or(msg, "the collector exited ("+status+") without an error message")
	if err := client.initError(context.Background(), errTypeConfig, report); err == nil {
		return 1
	}
	logError("the collector exited (" + status + "); telemetry is off for this execution environment, the function runs normally. Its last output: " +
		strings.ReplaceAll(msg, "\n", " | "))
	return serveNoop(client, sigs)
}

// reportInitError fails Init with msg.
func reportInitError(client *apiClient, msg string) int {
	if err := client.initError(context.Background(), errTypeConfig, msg); err != nil {
		logError(err.Error())
	}
	return 1
}

// serveNoop is a no-op extension: it calls /event/next until SHUTDOWN (or a
// SIGTERM), so Lambda never waits on it.
func serveNoop(client *apiClient, sigs <-chan os.Signal) int {
	done := make(chan error, 1)
	go func() { done <- (&relay{client: client}).run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			logError(err.Error())
			return 1
		}
	case <-sigs:
	}
	return 0
}

// logError writes one line to stderr, which Lambda puts in the function's log stream.
func logError(msg string) {
	fmt.Fprintf(os.Stderr, "ERROR [%s launcher] %s\n", filepath.Base(os.Args[0]), msg)
}
