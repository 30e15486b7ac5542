package lambdaemu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

func TestRIEProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and runs AWS's Runtime Interface Emulator")
	}
	if os.Geteuid() != 0 {
		t.Skip("RIE runs in a mount namespace with /opt bind-mounted: needs root")
	}
	for _, tool := range []string{"unshare", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("RIE harness needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rie, err := FindRIE()
	if err != nil {
		t.Logf("%v; installing it (about a minute, once)", err)
		rie, err = InstallRIE(ctx)
		require.NoError(t, err)
	}

	dir := t.TempDir()
	ext := buildTestBinary(t, "testextension", dir, "rie-test-ext")
	bootstrap := buildTestBinary(t, "testfunction", dir, "testfunction")
	outPath := filepath.Join(dir, "out.jsonl")
	var output lambdaemutest.Output
	r, err := StartRIE(ctx, RIEConfig{
		Binary: rie, Bootstrap: bootstrap, Extensions: []string{ext},
		Function: Config{FunctionName: "rie-fn", Timeout: 5 * time.Second},
		Env:      []string{"TESTEXT_OUT=" + outPath},
		Output:   &output,
	})
	require.NoError(t, err)
	defer r.Close()

	payloads := []string{`"one"`, `"fail"`, `"three"`}
	traces := make([]string, len(payloads))
	for i, p := range payloads {
		traces[i] = NewTraceHeader()
		status, body, err := r.Invoke(ctx, []byte(p), traces[i])
		require.NoError(t, err, output.String())
		require.Equal(t, 200, status, string(body))
		if p == `"fail"` {
			assert.Contains(t, string(body), "failing as asked")
		} else {
			assert.Equal(t, `"ok"`, string(body))
		}
	}
	require.NoError(t, r.Shutdown(ctx), output.String())
	assert.Contains(t, output.String(), "rie-test-ext shut down cleanly", output.String())

	out := readTestextOutput(t, outPath)
	require.Len(t, out.events, 4, output.String())
	assert.Equal(t, "SHUTDOWN", out.events[3].EventType)
	for i, ev := range out.events[:3] {
		require.Equal(t, "INVOKE", ev.EventType)
		id := ev.RequestID
		// The INVOKE event and the runtime see the caller's root with the
		// invocation span as parent.
		assert.Equal(t, parseTraceHeader(traces[i])["Root"], parseTraceHeader(ev.Tracing.Value)["Root"])
		assert.Equal(t, spanIDFor(id), parseTraceHeader(ev.Tracing.Value)["Parent"])

		start, ok := lambdaemutest.Find(out.records, "platform.start", id)
		require.True(t, ok, "platform.start for %s", id)
		var tr struct{ SpanID, Value string }
		require.NoError(t, json.Unmarshal([]byte(start.Field("tracing")), &tr), string(start.Record)+"\n"+ev.Tracing.Value+"\n"+output.String())
		assert.Equal(t, traces[i], tr.Value)
		assert.Equal(t, spanIDFor(id), tr.SpanID)

		done, ok := lambdaemutest.Find(out.records, "platform.runtimeDone", id)
		require.True(t, ok, "platform.runtimeDone for %s", id)
		want := "success"
		if payloads[i] == `"fail"` {
			want = "error"
		}
		assert.Equal(t, want, done.Field("status"))
		_, ok = lambdaemutest.Find(out.records, "platform.report", id)
		assert.True(t, ok, "platform.report for %s (the last one during SHUTDOWN)", id)

		found := false
		for _, rec := range out.records {
			var line string
			if rec.Type == "function" && json.Unmarshal(rec.Record, &line) == nil && strings.Contains(line, "handling "+id) {
				found = true
				assert.Contains(t, line, ev.Tracing.Value, "the runtime got the same trace header as the extension")
			}
		}
		assert.True(t, found, "function record for %s", id)
	}
	for _, typ := range []string{"platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.telemetrySubscription", "extension"} {
		_, ok := lambdaemutest.Find(out.records, typ, "")
		assert.True(t, ok, typ)
	}
	// Reports arrive after the thaw, never while frozen.
	assert.Empty(t, ActivityWhileFrozen(r.Proxy.Events()))
}
