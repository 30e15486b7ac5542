package lambdaemu

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

// buildTestBinary builds ./testdata/<pkg> as dir/name.
func buildTestBinary(t *testing.T, pkg, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./testdata/"+pkg)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

type testextOutput struct {
	events  []lambdaemutest.Event
	records []lambdaemutest.Record
}

func readTestextOutput(t *testing.T, path string) testextOutput {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out testextOutput
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Kind  string          `json:"kind"`
			Value json.RawMessage `json:"value"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		switch line.Kind {
		case "event":
			var ev lambdaemutest.Event
			require.NoError(t, json.Unmarshal(line.Value, &ev))
			out.events = append(out.events, ev)
		case "record":
			var r lambdaemutest.Record
			require.NoError(t, json.Unmarshal(line.Value, &r))
			out.records = append(out.records, r)
		}
	}
	return out
}

// processState reads the state letter of /proc/<pid>/stat (T: stopped).
func processState(t *testing.T, pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return fields[0]
}

func TestExtensionProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := buildTestBinary(t, "testextension", dir, "test-ext")
	tests := []struct {
		name string
		mode string
		ok   bool
	}{
		{name: "cooperative", ok: true},
		{name: "ignores SHUTDOWN", mode: "hang", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxWithTimeout(t)
			outPath := filepath.Join(t.TempDir(), "out.jsonl")
			emu := startEmulator(t, Config{ShutdownTimeout: 500 * time.Millisecond})
			var output bytes.Buffer
			p, err := emu.StartExtension(bin, ProcessOptions{Env: []string{"TESTEXT_OUT=" + outPath, "TESTEXT_MODE=" + tt.mode}, Output: &output, Freeze: true})
			require.NoError(t, err)
			emu.RunRuntime(ctx, echo)
			var last InvokeResult
			for _, payload := range []string{"a", "b"} {
				last, err = emu.Invoke(ctx, InvokeRequest{Payload: []byte(payload)})
				require.NoError(t, err)
				require.Equal(t, "success", last.Status)
				assert.Equal(t, "T", processState(t, p.Cmd.Process.Pid), "frozen: the extension process is stopped")
			}
			sd, err := emu.Shutdown(ctx, "spindown")
			require.NoError(t, err)
			assert.Equal(t, tt.ok, sd.OK())
			<-p.Done()
			assert.Empty(t, ActivityWhileFrozen(emu.Events()))
			out := readTestextOutput(t, outPath)
			require.NotEmpty(t, out.events)
			assert.Equal(t, "SHUTDOWN", out.events[len(out.events)-1].EventType)
			if !tt.ok {
				assert.Error(t, p.ExitErr(), "killed at the deadline")
				return
			}
			assert.NoError(t, p.ExitErr())
			_, ok := lambdaemutest.Find(out.records, "platform.report", last.RequestID)
			assert.True(t, ok, "the last report reached the extension during SHUTDOWN")
			assert.Contains(t, output.String(), "test-ext shut down cleanly")
			// The extension's output became extension records.
			found := false
			for _, r := range emu.Records() {
				found = found || (r.Type == "extension" && strings.Contains(string(r.Record), "registered and subscribed"))
			}
			assert.True(t, found)
		})
	}
}

func TestRuntimeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	ctx := ctxWithTimeout(t)
	bin := buildTestBinary(t, "testfunction", t.TempDir(), "bootstrap")
	emu := startEmulator(t, Config{})
	p, err := emu.StartRuntime(bin, ProcessOptions{})
	require.NoError(t, err)

	ok, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte(`"one"`)})
	require.NoError(t, err)
	assert.Equal(t, "success", ok.Status)
	assert.Equal(t, `"ok"`, string(ok.Response))
	failed, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte(`"fail"`)})
	require.NoError(t, err)
	assert.Equal(t, "error", failed.Status)
	crashed, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte(`"exit"`)})
	require.NoError(t, err)
	assert.Equal(t, "failure", crashed.Status)
	assert.Equal(t, "Runtime.ExitError", crashed.ErrorType)
	<-p.Done()
	_, err = emu.Invoke(ctx, InvokeRequest{})
	assert.ErrorContains(t, err, "runtime process exited")

	// The runtime's output lines became function records of their request.
	var lines []string
	for _, r := range emu.Records() {
		var line string
		if r.Type == "function" && json.Unmarshal(r.Record, &line) == nil {
			lines = append(lines, line)
		}
	}
	require.Len(t, lines, 3)
	for i, res := range []InvokeResult{ok, failed, crashed} {
		assert.Equal(t, "handling "+res.RequestID+" trace "+res.TraceHeader, lines[i])
	}
}

func TestRSS(t *testing.T) {
	before := RSS(os.Getpid())
	require.Positive(t, before)
	touched := make([]byte, 64<<20)
	for i := range touched {
		touched[i] = 1
	}
	assert.Greater(t, RSS(os.Getpid()), before+32<<20, "64 MiB touched")
	runtime.KeepAlive(touched)
	assert.Zero(t, RSS(1<<30), "no such process")
}
