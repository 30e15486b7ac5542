package lambdaemu

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

// TestDuplicateDeliveries: with DuplicateDeliveries every batch the
// subscriber accepted comes a second time, in a POST of its own.
func TestDuplicateDeliveries(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Telemetry: TelemetryConfig{DuplicateDeliveries: true}})
	ext := startExtension(t, emu, "ext", "", "function")
	emu.RunRuntime(ctx, func(_ context.Context, inv Invocation) ([]byte, error) {
		for i := range 3 {
			inv.Log(fmt.Sprintf("line %d of %s", i, inv.RequestID))
		}
		return []byte("ok"), nil
	})
	res, err := emu.Invoke(ctx, InvokeRequest{})
	require.NoError(t, err)
	_, err = emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)

	recs, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool { return len(r) >= 6 })
	require.NoError(t, err)
	seen := map[string][]int{} // line -> batches it came in
	for _, r := range recs {
		var line string
		require.Equal(t, "function", r.Type)
		require.NoError(t, json.Unmarshal(r.Record, &line))
		seen[line] = append(seen[line], r.Batch)
	}
	require.Len(t, seen, 3)
	for i := range 3 {
		batches := seen[fmt.Sprintf("line %d of %s", i, res.RequestID)]
		require.Len(t, batches, 2, "every record twice")
		assert.NotEqual(t, batches[0], batches[1], "in two POSTs")
	}
	var deliveries, delivered int
	for _, e := range emu.Events() {
		if e.Party != "ext" {
			continue
		}
		switch e.Kind {
		case EventDelivery:
			deliveries++
		case EventDelivered:
			delivered++
		}
	}
	assert.Equal(t, deliveries, delivered, "every POST was accepted and logged as delivered")
	assert.Zero(t, deliveries%2, "in pairs")
}

// TestDeliveredEvents: a rejected POST is a delivery, not a delivered one.
func TestDeliveredEvents(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Telemetry: TelemetryConfig{RetryBackoff: time.Millisecond}})
	ext := startExtension(t, emu, "ext", "", "function")
	ext.listener.Respond = func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	}
	emu.RunRuntime(ctx, echo)
	_, err := emu.Invoke(ctx, InvokeRequest{})
	require.NoError(t, err)
	_, err = ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool { return len(r) == 1 })
	require.NoError(t, err)
	_, err = emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	var kinds []EventKind
	for _, e := range emu.Events() {
		if e.Party == "ext" && (e.Kind == EventDelivery || e.Kind == EventDelivered) {
			kinds = append(kinds, e.Kind)
			assert.Equal(t, "function", e.Detail)
			assert.Equal(t, 1, e.Count)
		}
	}
	assert.Equal(t, []EventKind{EventDelivery, EventDelivery, EventDelivered}, kinds)
}

func TestPostRuntimeAndWhileFrozen(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	api := func(ms int, party, detail string) Event {
		return Event{Time: at(ms), Kind: EventAPI, Party: party, Detail: detail}
	}
	events := []Event{
		api(0, "ext", "GET /2020-01-01/extension/event/next"),
		{Time: at(1), Kind: EventFreeze},
		{Time: at(10), Kind: EventThaw},
		// A blocking extension: next 30 ms after the response.
		{Time: at(10), Kind: EventLifecycle, Detail: "invoke a"},
		api(12, "runtime", "POST /2018-06-01/runtime/invocation/a/response"),
		api(42, "other", "GET /2020-01-01/extension/event/next"),
		api(42, "ext", "GET /2020-01-01/extension/event/next"),
		{Time: at(43), Kind: EventFreeze},
		{Time: at(50), Kind: EventThaw},
		// A non-blocking one: back in next before the runtime's error.
		{Time: at(50), Kind: EventLifecycle, Detail: "invoke b"},
		api(51, "ext", "GET /2020-01-01/extension/event/next"),
		api(55, "runtime", "POST /2018-06-01/runtime/invocation/b/error"),
		{Time: at(56), Kind: EventFreeze},
		{Time: at(60), Kind: EventThaw},
		// A timeout (no result) and an extension that never came back.
		{Time: at(60), Kind: EventLifecycle, Detail: "invoke c"},
		api(70, "ext", "GET /2020-01-01/extension/event/next"),
		{Time: at(80), Kind: EventLifecycle, Detail: "invoke d"},
		api(81, "runtime", "POST /2018-06-01/runtime/invocation/d/response"),
	}
	assert.Equal(t, []time.Duration{30 * time.Millisecond, 0}, PostRuntime(events, "ext"))
	assert.Equal(t, []time.Duration{30 * time.Millisecond}, PostRuntime(events, "other"))

	assert.False(t, WhileFrozen(events, at(0)))
	assert.True(t, WhileFrozen(events, at(1)))
	assert.True(t, WhileFrozen(events, at(9)))
	assert.False(t, WhileFrozen(events, at(10)))
	assert.True(t, WhileFrozen(events, at(44)))
	assert.False(t, WhileFrozen(events, at(90)))
}

// TestPostRuntimeOfAnExtension: the in-process extension waits for
// runtimeDone (the Telemetry API's buffering) before next, so each
// invocation has a post-runtime time.
func TestPostRuntimeOfAnExtension(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{})
	startExtension(t, emu, "ext", "")
	emu.RunRuntime(ctx, echo)
	for range 3 {
		_, err := emu.Invoke(ctx, InvokeRequest{})
		require.NoError(t, err)
	}
	post := PostRuntime(emu.Events(), "ext")
	require.Len(t, post, 3)
	for _, d := range post {
		assert.Positive(t, d)
	}
}

// TestSIGTERMDuringAnInvocation: a test can signal an extension process
// while an invocation runs (it is thawed then); the invocation ends without
// waiting for the dead extension and Shutdown has nobody left to wait for.
func TestSIGTERMDuringAnInvocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	ctx := ctxWithTimeout(t)
	bin := buildTestBinary(t, "testextension", t.TempDir(), "test-ext")
	emu := startEmulator(t, Config{})
	p, err := emu.StartExtension(bin, ProcessOptions{Env: []string{"TESTEXT_OUT=" + filepath.Join(t.TempDir(), "out.jsonl")}, Freeze: true})
	require.NoError(t, err)
	emu.RunRuntime(ctx, func(ctx context.Context, inv Invocation) ([]byte, error) {
		if string(inv.Payload) == "term" {
			if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				return nil, err
			}
			select {
			case <-p.Done():
			case <-ctx.Done():
			}
		}
		return []byte("ok"), nil
	})
	_, err = emu.Invoke(ctx, InvokeRequest{Payload: []byte("before")})
	require.NoError(t, err)
	res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("term")})
	require.NoError(t, err)
	assert.Equal(t, "success", res.Status)
	assert.Empty(t, res.LateExtensions)
	select {
	case <-p.Done():
	default:
		t.Fatal("the extension still runs after SIGTERM")
	}
	assert.ErrorContains(t, p.ExitErr(), "terminated")
	sd, err := emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	assert.True(t, sd.OK(), "%+v", sd)
}

// TestQueuedEventMeansBusy: an extension whose INVOKE is queued but not yet
// returned by its pending /event/next is busy, not idle: a runtime that
// answered at once must not let the environment freeze before the extension
// has even seen the event (a race seen under load in the whole-binary tests).
func TestQueuedEventMeansBusy(t *testing.T) {
	waiting := &extension{inNext: true}
	assert.False(t, waiting.busy())
	assert.True(t, (&extension{inNext: true, queue: [][]byte{[]byte(`{"eventType":"INVOKE"}`)}}).busy())
	assert.True(t, (&extension{}).busy(), "working: not in next")
	assert.False(t, (&extension{exited: true}).busy())
	assert.False(t, (&extension{errored: "Extension.Failed"}).busy())
}
