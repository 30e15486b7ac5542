package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// launcherBinary is the layer's extension, layer/launcher: the Makefile's
// build (OTELCOL_LAMBDA_LAUNCHER), or one built here.
func launcherBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("OTELCOL_LAMBDA_LAUNCHER"); bin != "" {
		require.FileExists(t, bin, "OTELCOL_LAMBDA_LAUNCHER")
		return bin
	}
	bin := filepath.Join(t.TempDir(), "otelcol-lambda")
	build := exec.Command("go", "build", "-o", bin, "./layer/launcher")
	build.Dir = repoFile("")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// launcherRun is the launcher as Lambda runs it, on the project's emulator
// (the environment frozen between invocations).
type launcherRun struct {
	emu  *lambdaemu.Emulator
	proc *lambdaemu.Process
	out  *lambdaemutest.Output
}

// startLauncher starts the launcher with the collector binary, args and env,
// and a runtime with handler.
func startLauncher(t *testing.T, args, env []string, handler lambdaemu.Handler) *launcherRun {
	t.Helper()
	collector := extensionBinary(t)
	launcher := launcherBinary(t)
	emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: "sentiment", MemoryMB: 256})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	r := &launcherRun{emu: emu, out: &lambdaemutest.Output{}}
	// Later entries win: the test's own environment does not leak a config
	// or an endpoint in.
	env = append([]string{
		"OTELCOL_LAMBDA_COLLECTOR=" + collector,
		"OTELCOL_LAMBDA_OTLP_ENDPOINT=",
		"OPENTELEMETRY_COLLECTOR_CONFIG_URI=",
		"OTELCOL_LAMBDA_STRICT=",
	}, env...)
	r.proc, err = emu.StartExtension(launcher, lambdaemu.ProcessOptions{Args: args, Env: env, Output: r.out, Freeze: true})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	emu.RunRuntime(ctx, handler)
	return r
}

func (r *launcherRun) waitInit(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.emu.WaitInit(ctx)
}

// invoke runs n invocations that must all succeed.
func (r *launcherRun) invoke(t *testing.T, n int) []lambdaemu.InvokeResult {
	t.Helper()
	var res []lambdaemu.InvokeResult
	for i := range n {
		got, err := r.emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte(`{"action":"normal"}`)})
		require.NoError(t, err, "invoke %d\n%s", i, r.out.String())
		require.Equal(t, "success", got.Status, "invoke %d: %s\n%s", i, got.Response, r.out.String())
		res = append(res, got)
	}
	return res
}

// shutdown sends SHUTDOWN; the launcher (and its collector) must exit within
// the deadline, cleanly.
func (r *launcherRun) shutdown(t *testing.T) {
	t.Helper()
	res, err := r.emu.Shutdown(context.Background(), "spindown")
	require.NoError(t, err)
	assert.True(t, res.OK(), "the launcher must exit within the SHUTDOWN deadline: %+v\n%s", res, r.out.String())
	<-r.proc.Done()
	assert.NoError(t, r.proc.ExitErr(), "clean exit; output:\n%s", r.out.String())
	assert.NotContains(t, r.out.String(), "panic")
}

// errorLines are the launcher's ERROR lines.
func (r *launcherRun) errorLines() []string {
	var lines []string
	for l := range strings.Lines(r.out.String()) {
		if strings.HasPrefix(l, "ERROR ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// children lists the processes pid started (Linux /proc/<pid>/task/*/children).
func children(t *testing.T, pid int) []int {
	t.Helper()
	files, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	require.NoError(t, err)
	var pids []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(s)
			require.NoError(t, err)
			pids = append(pids, n)
		}
	}
	return pids
}

// collectorChild is the launcher's one child, checked to have been handed the registration.
func (r *launcherRun) collectorChild(t *testing.T) int {
	t.Helper()
	kids := children(t, r.proc.Cmd.Process.Pid)
	require.Len(t, kids, 1, "the launcher runs one collector\n%s", r.out.String())
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(kids[0]) + "/environ")
	require.NoError(t, err)
	assert.Contains(t, string(environ), "\x00"+extensionapi.EnvHandoverID+"=", "the collector was handed the launcher's registration")
	return kids[0]
}

// initErrors are the errorMessages of the /init/error reports the emulator
// accepted (it refuses one from an extension that called /event/next, as
// Lambda does).
func (r *launcherRun) initErrors() []string {
	var msgs []string
	for _, e := range r.emu.ExtensionErrors() {
		if e.Call == "init/error" {
			msgs = append(msgs, e.Message)
		}
	}
	return msgs
}

// apiCalls counts the API requests to a path ending in suffix.
func (r *launcherRun) apiCalls(suffix string) int {
	n := 0
	for _, e := range r.emu.Events() {
		if e.Kind == lambdaemu.EventAPI && strings.HasSuffix(e.Detail, suffix) {
			n++
		}
	}
	return n
}

// The layer's path: the launcher registers, the collector (with the shipped
// config, given as arguments the launcher passes on) adopts the registration
// and exports every invocation; at SHUTDOWN both exit in time.
func TestLauncherRunsTheCollector(t *testing.T) {
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	fn := samplefunction.New("http://"+otlpHTTP, 10*time.Millisecond)
	defer fn.Close()
	r := startLauncher(t, loopback.CollectorArgs(repoFile("collector-config.yaml"), otlpHTTP, freeAddr(t)),
		[]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, fn.Handle)
	require.NoError(t, r.waitInit(t), r.out.String())
	child := r.collectorChild(t)
	assert.Equal(t, 1, r.apiCalls("/extension/register"), "one /register, the launcher's: the collector adopted it")

	results := r.invoke(t, 4)
	r.shutdown(t)
	_, err := os.Stat("/proc/" + strconv.Itoa(child))
	assert.ErrorIs(t, err, os.ErrNotExist, "the collector exited (and was reaped) with the launcher")

	invocations, ok := be.lastSum("faas.invocations")
	require.True(t, ok, "faas.invocations exported\n%s", r.out.String())
	assert.Equal(t, int64(len(results)), invocations)
	s := be.snapshot()
	for _, res := range results {
		want, _ := samplefunction.XRay(res.TraceHeader)
		assert.Equal(t, want.String(), s.serverTrace[res.RequestID], "server span of %s", res.RequestID)
	}
	assert.Empty(t, r.errorLines())
	assert.Empty(t, r.initErrors())
	assert.Empty(t, lambdaemu.ActivityWhileFrozen(r.emu.Events()))
}

func okHandler(context.Context, lambdaemu.Invocation) ([]byte, error) { return []byte(`"ok"`), nil }

// Once invocations are regular (the shipped adaptive strategy, after its
// warm-up), the launcher's relay calls /event/next while the function still
// runs: the function below returns only once it has, so a relay that waited
// for the collector would fail these invocations. Nothing is lost for it.
func TestLauncherLetsRegularInvocationsGo(t *testing.T) {
	be := startBackend(t)
	var r *launcherRun
	var n atomic.Int32
	// nextSince: the extension called /event/next since the INVOKE of id.
	nextSince := func(id string) bool {
		invoked := false
		for _, e := range r.emu.Events() {
			switch {
			case e.Kind == lambdaemu.EventLifecycle && e.Detail == "invoke "+id:
				invoked = true
			case invoked && e.Kind == lambdaemu.EventAPI && e.Party == r.proc.Name && strings.HasSuffix(e.Detail, "/event/next"):
				return true
			}
		}
		return false
	}
	handler := func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		inv.Log("line of " + inv.RequestID)
		if n.Add(1) <= 2 { // the warm-up: blocking
			return []byte(`"ok"`), nil
		}
		for !nextSince(inv.RequestID) {
			select {
			case <-ctx.Done(): // the function's timeout
				return nil, errors.New("the extension did not call /event/next while the function ran")
			case <-time.After(time.Millisecond):
			}
		}
		return []byte(`"ok"`), nil
	}
	r = startLauncher(t, loopback.CollectorArgs(repoFile("collector-config.yaml"), freeAddr(t), freeAddr(t)),
		[]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, handler)
	require.NoError(t, r.waitInit(t), r.out.String())
	results := r.invoke(t, 6)
	r.shutdown(t)

	s := be.snapshot()
	for _, res := range results {
		assert.Equal(t, 1, s.logLines[res.RequestID], "the function's line of %s, once", res.RequestID)
		assert.Contains(t, s.serverTrace, res.RequestID)
	}
	assert.Empty(t, r.errorLines())
}

// A function that answers at once and logs 1000 lines leaves the extension
// too little thawed time to keep up without billed time: adaptive then
// catches up once exports lag by more than flush.adaptive.max_lag, so before
// SHUTDOWN the backend holds every invocation but the last few in full
// (without the catch-up it fell 20 invocations behind, and SHUTDOWN could not
// send the backlog). Invocations here follow each other at once, so max_lag
// is set below one of them; the budget is generous so that a slow machine
// makes no difference to what is checked.
func TestLauncherAdaptiveCatchesUp(t *testing.T) {
	be := startBackend(t)
	const lines, invocations = 1000, 20
	handler := func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		for k := range lines {
			inv.Log(fmt.Sprintf("line %d of %s", k, inv.RequestID))
		}
		return []byte(`"ok"`), nil
	}
	args := append(loopback.CollectorArgs(repoFile("collector-config.yaml"), freeAddr(t), freeAddr(t)),
		"--config=yaml:receivers::lambdatelemetry::flush::export_budget: 10s",
		"--config=yaml:receivers::lambdatelemetry::flush::adaptive::max_lag: 1ms")
	r := startLauncher(t, args, []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, handler)
	require.NoError(t, r.waitInit(t), r.out.String())
	results := r.invoke(t, invocations)

	before := be.snapshot()
	for _, res := range results[:invocations-3] {
		assert.Equal(t, lines, before.logLines[res.RequestID], "lines of %s at the backend before SHUTDOWN", res.RequestID)
	}
	caughtUp, _ := be.lastSum("otelcol.lambdatelemetry.catch_up_flushes")
	r.shutdown(t)
	after := be.snapshot()
	for _, res := range results {
		assert.Equal(t, lines, after.logLines[res.RequestID], "lines of %s after SHUTDOWN", res.RequestID)
	}
	t.Logf("catch-up flushes before SHUTDOWN: %d", caughtUp)
	assert.Empty(t, r.errorLines())
}

// The shipped config without its endpoint: the function runs, the extension
// says once what to set, and no collector is started.
func TestLauncherFailsOpenWithoutEndpoint(t *testing.T) {
	r := startLauncher(t, nil, nil, okHandler)
	require.NoError(t, r.waitInit(t), "Init must succeed\n%s", r.out.String())
	r.invoke(t, 3)
	assert.Empty(t, children(t, r.proc.Cmd.Process.Pid), "no collector started")
	r.shutdown(t)

	lines := r.errorLines()
	require.Len(t, lines, 1, "one ERROR line\n%s", r.out.String())
	assert.Contains(t, lines[0], "OTELCOL_LAMBDA_OTLP_ENDPOINT is not set")
	assert.Contains(t, lines[0], "telemetry is off")
	assert.Equal(t, r.out.String(), lines[0], "nothing else written")
	assert.Empty(t, r.initErrors())
}

// OTELCOL_LAMBDA_STRICT=true: the same gap fails Init, with the message.
func TestLauncherStrictFailsInit(t *testing.T) {
	r := startLauncher(t, nil, []string{"OTELCOL_LAMBDA_STRICT=true"}, okHandler)
	err := r.waitInit(t)
	require.ErrorContains(t, err, "Extension.ConfigInvalid", r.out.String())
	reports := r.initErrors()
	require.Len(t, reports, 1)
	assert.Contains(t, reports[0], "OTELCOL_LAMBDA_OTLP_ENDPOINT is not set")
	<-r.proc.Done()
	assert.Error(t, r.proc.ExitErr())
}

// A config that cannot load fails Init through /init/error, with the
// collector's own message.
func TestLauncherReportsConfigErrors(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{name: "invalid YAML", config: "receivers: [\n", want: "did not find expected node content"},
		{name: "unknown component", config: `receivers:
  nope:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [nope]
      exporters: [debug]
`, want: `unknown type: "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(config, []byte(tt.config), 0o600))
			r := startLauncher(t, nil, []string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI=" + config}, okHandler)
			err := r.waitInit(t)
			require.ErrorContains(t, err, "Extension.ConfigInvalid", r.out.String())
			reports := r.initErrors()
			require.Len(t, reports, 1, r.out.String())
			assert.Contains(t, reports[0], tt.want)
			assert.True(t, strings.HasPrefix(reports[0], "Error: "), "the collector's error, trimmed: %q", reports[0])
			<-r.proc.Done()
			assert.Error(t, r.proc.ExitErr())
		})
	}
}

// The collector killed after Init: the launcher takes the lifecycle over,
// the function's invocations keep succeeding and SHUTDOWN ends it in time.
func TestLauncherTakesOverWhenTheCollectorDies(t *testing.T) {
	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	r := startLauncher(t, loopback.CollectorArgs(repoFile("collector-config.yaml"), otlpHTTP, freeAddr(t)),
		[]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, okHandler)
	require.NoError(t, r.waitInit(t), r.out.String())
	r.invoke(t, 2)
	require.NoError(t, syscall.Kill(r.collectorChild(t), syscall.SIGKILL))

	r.invoke(t, 3)
	r.shutdown(t)
	lines := r.errorLines()
	require.Len(t, lines, 1, r.out.String())
	assert.Contains(t, lines[0], "the collector exited (signal: killed) after Init")
	assert.Zero(t, r.apiCalls("/extension/init/error"), "Init was over (the launcher's relay had called /event/next), yet it reported to /init/error\n%s", r.out.String())
}
