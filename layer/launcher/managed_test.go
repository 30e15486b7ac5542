package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// On Lambda Managed Instances the launcher registers for SHUTDOWN only (the
// emulator, like Lambda, refuses INVOKE there); /event/next then returns
// SHUTDOWN alone, however many invocations ran.
func TestManagedInstancesRegistersShutdownOnly(t *testing.T) {
	emu, err := lambdaemu.Start(lambdaemu.Config{Extensions: 1, InitializationType: lambdaemu.InitManagedInstances})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	emu.RunRuntime(ctx, func(context.Context, lambdaemu.Invocation) ([]byte, error) { return []byte(`"ok"`), nil })

	refused := &apiClient{addr: emu.Addr()}
	assert.ErrorContains(t, refused.register(ctx, "default-model"), "HTTP 400", "INVOKE is refused there")

	c := &apiClient{addr: emu.Addr(), initType: lambdaemu.InitManagedInstances}
	require.NoError(t, c.register(ctx, "otelcol-lambda"))
	events := make(chan event, 2)
	go func() {
		for {
			ev, err := c.next(ctx)
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	require.NoError(t, emu.WaitInit(ctx))
	for range 3 {
		_, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{})
		require.NoError(t, err)
	}
	_, err = emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	ev := <-events
	assert.True(t, ev.isShutdown(), "the first event is SHUTDOWN: %s", ev.raw)
}
