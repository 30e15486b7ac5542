package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// relayCollector is the collector's side of a relay, played by the test.
type relayCollector struct {
	t      *testing.T
	events *bufio.Reader
	acks   *os.File
}

func (c relayCollector) ack(until time.Time) { c.write(until, false) }

// hint changes the time without acknowledging anything.
func (c relayCollector) hint(until time.Time) { c.write(until, true) }

func (c relayCollector) write(until time.Time, update bool) {
	var ms int64
	if !until.IsZero() {
		ms = until.UnixMilli()
	}
	line, _ := json.Marshal(wire.RelayAck{NonBlockingUntilMs: ms, Update: update})
	_, err := c.acks.Write(append(line, '\n'))
	require.NoError(c.t, err)
}

func (c relayCollector) event() (wire.RelayedEvent, string) {
	line, err := c.events.ReadBytes('\n')
	require.NoError(c.t, err)
	var re wire.RelayedEvent
	require.NoError(c.t, json.Unmarshal(line, &re))
	var ev struct {
		EventType string `json:"eventType"`
	}
	require.NoError(c.t, json.Unmarshal(re.Event, &ev))
	return re, ev.EventType
}

// nexts counts the extension's calls to /event/next.
func nexts(emu *lambdaemu.Emulator) int {
	n := 0
	for _, e := range emu.Events() {
		if e.Kind == lambdaemu.EventAPI && e.Party == "otelcol-lambda" && strings.HasSuffix(e.Detail, "/event/next") {
			n++
		}
	}
	return n
}

// The relay calls /event/next for a blocking invocation only once the
// collector has acknowledged it, and for one the collector's policy lets go
// while the function still runs: no acknowledgement is needed.
func TestRelayBlockingAndNonBlocking(t *testing.T) {
	emu, err := lambdaemu.Start(lambdaemu.Config{Extensions: 1, FunctionName: "fn"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)

	// The second invocation returns only once the extension has called
	// /event/next during it: without waiting for the collector.
	emu.RunRuntime(ctx, func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		if want := map[byte]int{'2': 3, '3': 4}[inv.Payload[0]]; want > 0 {
			for nexts(emu) < want {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Millisecond):
				}
			}
		}
		return []byte(`"ok"`), nil
	})
	client := &apiClient{addr: emu.Addr()}
	require.NoError(t, client.register(ctx, "otelcol-lambda"))
	rl, files, err := newRelay(client)
	require.NoError(t, err)
	col := relayCollector{t: t, events: bufio.NewReader(files[0]), acks: files[1]}
	t.Cleanup(func() { files[0].Close(); files[1].Close() })
	done := make(chan error, 1)
	go func() { done <- rl.run(ctx) }()

	col.ack(time.Time{}) // ready; the policy holds the next INVOKE
	require.NoError(t, emu.WaitInit(ctx))
	assert.True(t, rl.started.Load())

	invoked := make(chan error, 1)
	go func() { _, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte("1")}); invoked <- err }()
	re, kind := col.event()
	assert.Equal(t, "INVOKE", kind)
	assert.False(t, re.Acknowledged)
	assert.NotZero(t, re.ArrivedMs)
	assert.Equal(t, 1, nexts(emu), "the relay called /event/next before the collector acknowledged a blocking INVOKE")
	col.ack(time.Now().Add(time.Minute)) // done; the next INVOKE may go
	require.NoError(t, <-invoked)

	go func() { _, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte("2")}); invoked <- err }()
	require.NoError(t, <-invoked, "the function waited for the relay's /event/next during the invocation")
	re, kind = col.event()
	assert.Equal(t, "INVOKE", kind)
	assert.True(t, re.Acknowledged)

	// Done, but the next INVOKE must wait (exports lag); then they catch up
	// while the relay waits in /event/next, and the collector says so.
	col.ack(time.Time{})
	col.hint(time.Now().Add(time.Minute))
	go func() { _, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte("3")}); invoked <- err }()
	require.NoError(t, <-invoked, "the function waited for the relay's /event/next during the invocation")
	re, _ = col.event()
	assert.True(t, re.Acknowledged, "the update counted")

	col.ack(time.Time{})
	shut := make(chan error, 1)
	go func() { _, err := emu.Shutdown(ctx, "spindown"); shut <- err }()
	_, kind = col.event()
	assert.Equal(t, "SHUTDOWN", kind)
	require.NoError(t, <-done)
	assert.True(t, rl.shutdown.Load())
	_, err = col.events.ReadBytes('\n')
	assert.Error(t, err, "the relay closes its end after SHUTDOWN")
	emu.ExtensionExited("otelcol-lambda")
	require.NoError(t, <-shut)
}

// A collector that goes away before it is ready: errNotReady, and the relay
// never called /event/next (so /init/error is still accepted).
func TestRelayCollectorNeverReady(t *testing.T) {
	emu, ctx := startEmulator(t)
	client := &apiClient{addr: emu.Addr()}
	require.NoError(t, client.register(ctx, "otelcol-lambda"))
	rl, files, err := newRelay(client)
	require.NoError(t, err)
	require.NoError(t, files[1].Close()) // the collector's acknowledgements end
	defer files[0].Close()
	assert.ErrorIs(t, rl.run(ctx), errNotReady)
	assert.False(t, rl.started.Load())
	assert.Zero(t, nexts(emu))
}
