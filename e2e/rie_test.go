package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

// loopbackConfig writes the shipped collector config with its listeners moved
// to loopback ports (sandbox.localdomain resolves only inside Lambda).
func loopbackConfig(t *testing.T, otlpHTTP string) string {
	t.Helper()
	raw, err := os.ReadFile(repoFile("collector-config.yaml"))
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	receivers := cfg["receivers"].(map[string]any)
	receivers["lambdatelemetry"] = map[string]any{"endpoint": "127.0.0.1:0"}
	protocols := receivers["otlp"].(map[string]any)["protocols"].(map[string]any)
	protocols["http"].(map[string]any)["endpoint"] = otlpHTTP
	protocols["grpc"].(map[string]any)["endpoint"] = freeAddr(t)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// TestWholeBinaryUnderAWSRuntimeEmulator runs the layer's extension, the
// launcher, which runs the collector, under AWS's Lambda Runtime Interface
// Emulator (Runtime and Extensions APIs), with the project's Telemetry API
// proxy in front of it. The extension gets no arguments: its config comes
// from OPENTELEMETRY_COLLECTOR_CONFIG_URI, as in the layer. StartRIE builds
// only /opt/extensions, so the collector is named by OTELCOL_LAMBDA_COLLECTOR
// rather than found at its place in the layer.
func TestWholeBinaryUnderAWSRuntimeEmulator(t *testing.T) {
	bin := extensionBinary(t)
	rieBin, err := lambdaemu.FindRIE()
	if err != nil {
		t.Skipf("AWS's runtime emulator is not installed (`make test` installs it): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("running AWS's runtime emulator with /opt/extensions needs root (a private mount namespace)")
	}
	launcher := launcherBinary(t)
	dir := t.TempDir()
	function := filepath.Join(dir, "bootstrap-bin")
	build := exec.Command("go", "build", "-o", function, "./testdata/samplefunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	// RIE runs extensions by file name: copy the launcher as otelcol-lambda.
	ext := filepath.Join(dir, "otelcol-lambda")
	raw, err := os.ReadFile(launcher)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(ext, raw, 0o755))

	be := startBackend(t)
	otlpHTTP := freeAddr(t)
	var output lambdaemutest.Output
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rie, err := lambdaemu.StartRIE(ctx, lambdaemu.RIEConfig{
		Binary:     rieBin,
		Bootstrap:  function,
		Extensions: []string{ext},
		Function:   lambdaemu.Config{FunctionName: "sentiment", MemoryMB: 256, Timeout: 10 * time.Second},
		Env: []string{
			"OTELCOL_LAMBDA_COLLECTOR=" + bin,
			"OPENTELEMETRY_COLLECTOR_CONFIG_URI=" + loopbackConfig(t, otlpHTTP),
			"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint(),
			"TMPDIR=" + t.TempDir(), // the spool's directory, the test's own
			"FUNCTION_OTLP_ENDPOINT=http://" + otlpHTTP,
		},
		Output: &output,
	})
	require.NoError(t, err)
	defer rie.Close()

	payloads := []string{`{"action":"normal"}`, `{"action":"fail"}`, `{"action":"slow"}`, `{}`}
	traces := map[string]bool{}
	for i, p := range payloads {
		header := fmt.Sprintf("Root=1-6745d00%d-00000000000000000000000%d;Parent=00000000000000a%d;Sampled=1", i, i, i)
		traces[fmt.Sprintf("6745d00%d00000000000000000000000%d", i, i)] = true
		status, body, err := rie.Invoke(ctx, []byte(p), header)
		require.NoError(t, err, "invoke %d\n%s", i, output.String())
		require.Equal(t, 200, status, "invoke %d: %s\n%s", i, body, output.String())
	}
	start := time.Now()
	require.NoError(t, rie.Shutdown(ctx), output.String())
	assert.Less(t, time.Since(start), 5*time.Second, "RIE gives extensions 2 s to stop after SHUTDOWN; it had to kill ours:\n%s", output.String())
	assert.NotContains(t, output.String(), "panic")

	// Every invocation: one server span with the X-Ray trace id, the
	// function's own span in the same trace, and its log lines carrying it.
	s := be.snapshot()
	serverTraces := map[string]bool{}
	for id, tr := range s.serverTrace {
		serverTraces[tr] = true
		assert.Equal(t, tr, s.functionTrace[id], "function span of %s", id)
		assert.Equal(t, map[string]bool{tr: true}, s.logTraces[id], "log lines of %s", id)
		assert.Equal(t, 2, s.logLines[id], "log lines of %s", id)
	}
	assert.Equal(t, traces, serverTraces, "one server span per invocation, with the caller's trace id\n%s", output.String())
	invocations, ok := be.lastSum("faas.invocations")
	require.True(t, ok, "faas.invocations exported")
	assert.Equal(t, int64(len(payloads)), invocations)
	errorsN, _ := be.lastSum("faas.errors")
	assert.Equal(t, int64(1), errorsN)
	// The metric derived from the function's JSON logs (jsonlogparse, then the
	// logstometrics seed rule): one observation per successful inference.
	successes, ok := be.lastSum("inference_duration_ms")
	require.True(t, ok, "inference_duration_ms exported")
	assert.Equal(t, int64(len(payloads)-1), successes)
}
