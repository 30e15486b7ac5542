package main

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// net/http would double the launcher's size and memory (rawhttp's comment).
func TestNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.NotContains(t, deps, "net/http")
	assert.NotContains(t, deps, "github.com/lambda-o11y/otelcol-lambda/internal/extensionapi")
}

func startEmulator(t *testing.T) (*lambdaemu.Emulator, context.Context) {
	t.Helper()
	emu, err := lambdaemu.Start(lambdaemu.Config{Extensions: 1, FunctionName: "fn", AccountID: "111122223333"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	emu.RunRuntime(ctx, func(context.Context, lambdaemu.Invocation) ([]byte, error) { return []byte(`"ok"`), nil })
	return emu, ctx
}

// The launcher's lifecycle on the emulator: register, hand over (the
// receiver's TakeOver adopts it), INVOKE, SHUTDOWN.
func TestAPILifecycle(t *testing.T) {
	emu, ctx := startEmulator(t)
	c := &apiClient{addr: emu.Addr()}
	require.NoError(t, c.register(ctx, "otelcol-lambda"))
	assert.NotEmpty(t, c.id)

	env := map[string]string{}
	for _, kv := range c.handoverEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var adopted extensionapi.Client
	reg, ok, err := adopted.TakeOver(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, c.id, adopted.ID())
	assert.Equal(t, extensionapi.Registration{FunctionName: "fn", FunctionVersion: "$LATEST", Handler: "bootstrap", AccountID: "111122223333"}, reg)

	// The extension's loop: next until SHUTDOWN, each answer reported; then
	// next once more, which tells the emulator an in-process extension is done.
	type result struct {
		shutdown bool
		err      error
	}
	results := make(chan result, 3)
	go func() {
		for {
			ev, err := c.next(ctx)
			s := ev.isShutdown()
			results <- result{s, err}
			if s {
				_, _ = c.next(ctx)
			}
			if s || err != nil {
				return
			}
		}
	}()
	require.NoError(t, emu.WaitInit(ctx))
	_, err = emu.Invoke(ctx, lambdaemu.InvokeRequest{})
	require.NoError(t, err)
	assert.Equal(t, result{shutdown: false}, <-results, "INVOKE")
	sd, err := emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	assert.True(t, sd.OK(), "%+v", sd)
	assert.Equal(t, result{shutdown: true}, <-results, "SHUTDOWN")
}

// /init/error before the first /event/next fails Init with the message; after
// it, Lambda refuses it, and the launcher sees a statusError.
func TestAPIInitError(t *testing.T) {
	t.Run("before next", func(t *testing.T) {
		emu, ctx := startEmulator(t)
		c := &apiClient{addr: emu.Addr()}
		require.NoError(t, c.register(ctx, "otelcol-lambda"))
		msg := "Error: failed to get config:\n  \"quoted\" \\ \x01 é"
		require.NoError(t, c.initError(ctx, errTypeConfig, msg))
		require.ErrorContains(t, emu.WaitInit(ctx), errTypeConfig)
		assert.Equal(t, []lambdaemu.ExtensionError{{Extension: "otelcol-lambda", Call: "init/error", Type: errTypeConfig, Message: msg}},
			emu.ExtensionErrors())
	})
	t.Run("after next", func(t *testing.T) {
		emu, ctx := startEmulator(t)
		c := &apiClient{addr: emu.Addr()}
		require.NoError(t, c.register(ctx, "otelcol-lambda"))
		go func() { _, _ = c.next(ctx) }()
		require.NoError(t, emu.WaitInit(ctx)) // Init ends once the extension waits in next
		err := c.initError(ctx, errTypeConfig, "too late")
		var se *statusError
		require.True(t, errors.As(err, &se), "%v", err)
		assert.Equal(t, http.StatusForbidden, se.status)
		assert.Contains(t, err.Error(), "init/error: HTTP 403: ")
		assert.Contains(t, err.Error(), "Extension.InvalidExtensionState")
		assert.Empty(t, emu.ExtensionErrors())
	})
}

func TestAPIErrors(t *testing.T) {
	emu, ctx := startEmulator(t)
	c := &apiClient{addr: emu.Addr(), id: "not-registered"}
	_, err := c.next(ctx)
	var se *statusError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, http.StatusForbidden, se.status)

	c = &apiClient{addr: emu.Addr()}
	require.NoError(t, c.register(ctx, "ext"))
	err = (&apiClient{addr: emu.Addr()}).register(ctx, "ext")
	assert.ErrorContains(t, err, "register: HTTP 409: ")

	closed := &apiClient{addr: "127.0.0.1:1"}
	assert.ErrorContains(t, closed.register(ctx, "ext"), "register: ")
}
