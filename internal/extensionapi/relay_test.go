package extensionapi

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// relayPipes hands a Client over with a relay as a launcher would, and
// returns the launcher's ends: where it writes events and reads acknowledgements.
func relayPipes(t *testing.T) (*Client, *os.File, *bufio.Reader) {
	t.Helper()
	evR, evW, err := os.Pipe()
	require.NoError(t, err)
	ackR, ackW, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { evW.Close(); ackR.Close() })
	// The child's ends under numbers of their own, as a child inherits them
	// (the Client then owns and closes them).
	dup := func(f *os.File) string {
		fd, err := syscall.Dup(int(f.Fd()))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		return strconv.Itoa(fd)
	}
	env := map[string]string{
		EnvHandoverID:           "ext-1",
		EnvHandoverRegistration: `{"functionName":"fn"}`,
		EnvRelay:                dup(evR) + "," + dup(ackW),
	}
	var c Client
	_, ok, err := c.TakeOver(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.True(t, ok)
	t.Cleanup(func() { c.Close() })
	return &c, evW, bufio.NewReader(ackR)
}

func TestRelayNext(t *testing.T) {
	c, events, acks := relayPipes(t)
	ctx := context.Background()
	arrived := time.UnixMilli(1_765_000_000_123)
	line, _ := json.Marshal(wire.RelayedEvent{ArrivedMs: arrived.UnixMilli(), Acknowledged: true,
		Event: json.RawMessage(`{"eventType":"INVOKE","requestId":"r1","deadlineMs":5,"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-x"}}`)})
	_, err := events.Write(append(line, '\n'))
	require.NoError(t, err)

	until := time.UnixMilli(1_765_000_060_000)
	ev, err := c.NextHint(ctx, until)
	require.NoError(t, err)
	assert.Equal(t, Event{EventType: Invoke, RequestID: "r1", DeadlineMs: 5, Tracing: Tracing{Type: "X-Amzn-Trace-Id", Value: "Root=1-x"},
		Arrived: arrived, Acknowledged: true}, ev)
	ack, err := acks.ReadString('\n')
	require.NoError(t, err)
	assert.JSONEq(t, `{"nonBlockingUntilMs":1765000060000}`, ack, "the first call says the child is ready, with its hint")

	// The next call acknowledges r1; never is 0.
	_, err = events.Write([]byte(`{"arrivedMs":1,"event":{"eventType":"SHUTDOWN","shutdownReason":"spindown"}}` + "\n"))
	require.NoError(t, err)
	ev, err = c.Next(ctx)
	require.NoError(t, err)
	assert.True(t, ev.IsShutdown())
	assert.False(t, ev.Acknowledged)
	ack, err = acks.ReadString('\n')
	require.NoError(t, err)
	assert.JSONEq(t, `{"nonBlockingUntilMs":0}`, ack)
}

// A collector that stops while waiting for an event returns at once.
func TestRelayNextCancelled(t *testing.T) {
	c, _, _ := relayPipes(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Next(ctx); done <- err }()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after its context was cancelled")
	}
}

// The launcher gone (its end closed): an error, not a hang.
func TestRelayClosed(t *testing.T) {
	c, events, _ := relayPipes(t)
	require.NoError(t, events.Close())
	_, err := c.Next(context.Background())
	assert.ErrorContains(t, err, "event relay")
}

func TestRelayBadValue(t *testing.T) {
	for _, v := range []string{"3", "a,b", "1,2", "3,"} {
		_, err := openRelay(v)
		assert.ErrorContains(t, err, EnvRelay, v)
	}
}
