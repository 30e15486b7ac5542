package lambdaemu

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

// Lambda Managed Instances: INVOKE registration is refused; n invocations run
// at once on n runtime workers (each handler waits until all n started, which
// only concurrency allows); the extension gets no INVOKE, and learns each
// invocation from the Telemetry API, whose report follows its runtimeDone;
// nothing ever freezes; SHUTDOWN still comes.
func TestManagedInstances(t *testing.T) {
	const n = 4
	emu := startEmulator(t, Config{Extensions: 1, InitializationType: InitManagedInstances, Telemetry: TelemetryConfig{LogFormat: LogFormatJSON}})
	ctx := ctxWithTimeout(t)
	assert.Contains(t, emu.Env(), "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances")

	_, err := lambdaemutest.Register(ctx, emu.Addr(), "invoke-ext", "INVOKE", "SHUTDOWN")
	var se *lambdaemutest.StatusError
	require.ErrorAs(t, err, &se, "INVOKE is not available")
	assert.Equal(t, 400, se.Status)

	x, err := lambdaemutest.Register(ctx, emu.Addr(), "ext", "SHUTDOWN")
	require.NoError(t, err)
	l, err := lambdaemutest.NewListener()
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, x.Subscribe(ctx, lambdaemutest.SubscriptionBody("2025-01-29", l.URL, "platform", "function")))
	events := make(chan lambdaemutest.Event, 2)
	go func() {
		for {
			ev, err := x.Next(ctx)
			if err != nil {
				return
			}
			events <- ev
		}
	}()

	var started sync.WaitGroup
	started.Add(n)
	for range n {
		emu.RunRuntime(ctx, func(ctx context.Context, inv Invocation) ([]byte, error) {
			started.Done()
			started.Wait()
			inv.Log("line of " + inv.RequestID)
			return []byte("ok"), nil
		})
	}
	require.NoError(t, emu.WaitInit(ctx))
	assert.False(t, emu.Frozen(), "never frozen")

	results := make(chan InvokeResult, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte(`{}`)})
			assert.NoError(t, err)
			results <- res
		})
	}
	wg.Wait()
	close(results)
	ids := map[string]bool{}
	for res := range results {
		assert.Equal(t, "success", res.Status)
		assert.Equal(t, "ok", string(res.Response))
		ids[res.RequestID] = true
	}
	require.Len(t, ids, n)

	recs, err := l.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
		for id := range ids {
			if _, ok := lambdaemutest.Find(r, "platform.report", id); !ok {
				return false
			}
		}
		return true
	})
	require.NoError(t, err, "every report delivered without a SHUTDOWN")
	for id := range ids {
		start, done, report := indexOf(recs, "platform.start", id), indexOf(recs, "platform.runtimeDone", id), indexOf(recs, "platform.report", id)
		assert.True(t, start < done && done < report, "start, runtimeDone, report of %s: %d %d %d", id, start, done, report)
		line := -1
		for i, r := range recs {
			if r.Type == "function" && r.Field("requestId") == id {
				line = i
				assert.Equal(t, "line of "+id, r.Field("message"))
			}
		}
		assert.True(t, start < line && line < done, "the line of %s in its invocation", id)
	}
	// Overlap: every start came before any runtimeDone.
	for a := range ids {
		for b := range ids {
			assert.Less(t, indexOf(recs, "platform.start", a), indexOf(recs, "platform.runtimeDone", b))
		}
	}
	assert.Empty(t, events, "no INVOKE")
	for _, ev := range emu.Events() {
		assert.NotEqual(t, EventFreeze, ev.Kind, "never frozen")
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		ev := <-events
		assert.Equal(t, "SHUTDOWN", ev.EventType)
		_, _ = x.Next(sctx) // done
	}()
	sd, err := emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	assert.True(t, sd.OK(), "%+v", sd)
}

// A managed invocation that outlives its deadline ends in a timeout (its
// report follows) without holding the others; a late answer is refused.
func TestManagedInstancesTimeout(t *testing.T) {
	emu := startEmulator(t, Config{InitializationType: InitManagedInstances})
	ctx := ctxWithTimeout(t)
	for range 2 {
		emu.RunRuntime(ctx, echo)
	}
	require.NoError(t, emu.WaitInit(ctx))
	hang := make(chan InvokeResult, 1)
	go func() {
		res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("hang"), Timeout: 200 * time.Millisecond})
		assert.NoError(t, err)
		hang <- res
	}()
	res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("x")})
	require.NoError(t, err)
	assert.Equal(t, "ok:x", string(res.Response))
	late := <-hang
	assert.Equal(t, "timeout", late.Status)
	reported := false
	for _, env := range emu.Records() {
		reported = reported || env.Type == "platform.report" && strings.Contains(string(env.Record), late.RequestID)
	}
	assert.True(t, reported, "the timed-out invocation's report")
}
