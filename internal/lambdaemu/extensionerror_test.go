package lambdaemu

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
)

// An /init/error before the extension's first /event/next fails Init with its
// type, and its message is kept.
func TestExtensionInitErrorBeforeNext(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 1})
	c := extensionapi.New(emu.Addr())
	_, err := c.Register(ctx, "ext")
	require.NoError(t, err)
	emu.RunRuntime(ctx, echo)

	require.NoError(t, c.InitError(ctx, "Extension.ConfigInvalid", errors.New("Error: bad config:\n  details")))
	err = emu.WaitInit(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Extension.ConfigInvalid")
	assert.Equal(t, []ExtensionError{{Extension: "ext", Call: "init/error", Type: "Extension.ConfigInvalid", Message: "Error: bad config:\n  details"}},
		emu.ExtensionErrors())
}

// Once the extension called /event/next (Ready), /init/error is refused with
// 403 Extension.InvalidExtensionState, during Init as after it, and changes
// nothing; /exit/error is still accepted.
func TestExtensionInitErrorAfterNext(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 1})
	c := extensionapi.New(emu.Addr())
	_, err := c.Register(ctx, "ext")
	require.NoError(t, err)
	next := make(chan error, 1)
	go func() { _, err := c.Next(ctx); next <- err }()
	require.Eventually(t, func() bool { return ready(emu) }, waitFor, 5*time.Millisecond)

	assertInvalidState := func() {
		t.Helper()
		err := c.InitError(ctx, "Extension.ConfigInvalid", errors.New("too late"))
		var se *extensionapi.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusForbidden, se.Status)
		assert.Contains(t, se.Body, `"errorType":"Extension.InvalidExtensionState"`)
	}
	assertInvalidState() // Ready during Init
	emu.RunRuntime(ctx, echo)
	require.NoError(t, emu.WaitInit(ctx), "the refused report did not fail Init")
	assertInvalidState() // after Init
	assert.Empty(t, emu.ExtensionErrors())

	require.NoError(t, c.ExitError(ctx, "Extension.Crashed", errors.New("giving up")))
	assert.Equal(t, []ExtensionError{{Extension: "ext", Call: "exit/error", Type: "Extension.Crashed", Message: "giving up"}},
		emu.ExtensionErrors())
	var se *extensionapi.StatusError
	require.ErrorAs(t, <-next, &se, "the pending next of an extension that reported exit/error fails")
	assert.Equal(t, http.StatusForbidden, se.Status)
}

// ready: the extension called /event/next (platform.extension, state Ready).
func ready(emu *Emulator) bool {
	for _, r := range emu.Records() {
		if r.Type == "platform.extension" {
			return true
		}
	}
	return false
}
