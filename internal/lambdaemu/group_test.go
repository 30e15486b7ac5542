package lambdaemu

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

// An extension process that starts a child (as the layer's launcher starts
// the collector): the freeze stops the child too, the thaw resumes it.
func TestFreezeStopsTheExtensionsChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	ctx := ctxWithTimeout(t)
	dir := t.TempDir()
	// The script and the binary it becomes share the name the extension registers under.
	buildTestBinary(t, "testextension", filepath.Join(dir, "bin"), "test-ext")
	script := filepath.Join(dir, "test-ext")
	require.NoError(t, os.WriteFile(script, []byte(`#!/bin/sh
sleep 60 >/dev/null 2>&1 &
echo "child $!"
exec "$(dirname "$0")/bin/test-ext"
`), 0o755))

	emu := startEmulator(t, Config{})
	var out lambdaemutest.Output
	p, err := emu.StartExtension(script, ProcessOptions{Output: &out, Freeze: true})
	require.NoError(t, err)
	var child int
	require.Eventually(t, func() bool {
		first, _, ok := strings.Cut(out.String(), "\n")
		pid, err := strconv.Atoi(strings.TrimPrefix(first, "child "))
		child = pid
		return ok && err == nil
	}, waitFor, time.Millisecond, "the script's first line: %s", out.String())
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })

	state := func() string {
		if f := StatFields(child); len(f) > 0 {
			return f[0]
		}
		return "gone"
	}
	var thawed []string
	emu.RunRuntime(ctx, func(context.Context, Invocation) ([]byte, error) {
		// SIGCONT was sent before the invocation started; give the kernel a moment.
		s := state()
		for deadline := time.Now().Add(time.Second); s == "T" && time.Now().Before(deadline); s = state() {
			time.Sleep(time.Millisecond)
		}
		thawed = append(thawed, s)
		return []byte("ok"), nil
	})
	for range 2 {
		res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("x")})
		require.NoError(t, err)
		require.Equal(t, "success", res.Status)
		assert.Equal(t, "T", state(), "frozen: the extension's child is stopped")
		assert.Equal(t, "T", processState(t, p.Cmd.Process.Pid), "frozen: the extension is stopped")
	}
	require.Len(t, thawed, 2)
	for _, s := range thawed {
		// Resumed: running, or back asleep in its sleep(1).
		assert.Contains(t, []string{"R", "S"}, s, "during each invocation the child is not stopped")
	}

	sd, err := emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	assert.True(t, sd.OK(), "%+v\n%s", sd, out.String())
	<-p.Done()
	assert.NoError(t, p.ExitErr())
	assert.Empty(t, ActivityWhileFrozen(emu.Events()))
}
