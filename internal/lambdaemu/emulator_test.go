package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

func startEmulator(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	emu, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// inProcExtension behaves like the lambdatelemetry receiver: after an INVOKE it
// waits for that request's runtimeDone before calling next again; at SHUTDOWN
// it waits for the last report and then calls next once more (done).
type inProcExtension struct {
	x        *lambdaemutest.Extension
	listener *lambdaemutest.Listener
	cancel   context.CancelFunc
	done     chan struct{}
	// onShutdown: "" calls next again once the last report arrived, "stuck"
	// never does, "exit" reports ExtensionExited instead.
	onShutdown string
	emu        *Emulator

	mu     sync.Mutex
	events []lambdaemutest.Event
	// reportBeforeNext[id]: whether id's platform.report had arrived when the
	// extension called next after that INVOKE.
	reportBeforeNext map[string]bool
	shutdownReport   bool
}

func startExtension(t *testing.T, emu *Emulator, name, onShutdown string, types ...string) *inProcExtension {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	x, err := lambdaemutest.Register(ctx, emu.Addr(), name, "INVOKE", "SHUTDOWN")
	require.NoError(t, err)
	l, err := lambdaemutest.NewListener()
	require.NoError(t, err)
	if len(types) == 0 {
		types = []string{"platform", "function", "extension"}
	}
	require.NoError(t, x.Subscribe(ctx, lambdaemutest.SubscriptionBody("2025-01-29", l.URL, types...)))
	ext := &inProcExtension{x: x, listener: l, cancel: cancel, done: make(chan struct{}), onShutdown: onShutdown, emu: emu, reportBeforeNext: map[string]bool{}}
	go ext.loop(ctx)
	t.Cleanup(func() {
		cancel()
		<-ext.done
		_ = l.Close()
	})
	return ext
}

func (ext *inProcExtension) loop(ctx context.Context) {
	defer close(ext.done)
	last := ""
	for {
		ev, err := ext.x.Next(ctx)
		if err != nil {
			return
		}
		ext.mu.Lock()
		ext.events = append(ext.events, ev)
		ext.mu.Unlock()
		switch ev.EventType {
		case "INVOKE":
			last = ev.RequestID
			recs, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
				_, ok := lambdaemutest.Find(r, "platform.runtimeDone", ev.RequestID)
				return ok
			})
			if err != nil {
				return
			}
			_, seen := lambdaemutest.Find(recs, "platform.report", ev.RequestID)
			ext.mu.Lock()
			ext.reportBeforeNext[ev.RequestID] = seen
			ext.mu.Unlock()
		case "SHUTDOWN":
			if ext.onShutdown == "stuck" {
				<-ctx.Done()
				return
			}
			_, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
				_, ok := lambdaemutest.Find(r, "platform.report", last)
				return ok || last == ""
			})
			ext.mu.Lock()
			ext.shutdownReport = err == nil
			ext.mu.Unlock()
			if ext.onShutdown == "exit" {
				ext.emu.ExtensionExited(ext.x.Name)
				return
			}
		}
	}
}

func (ext *inProcExtension) received() []lambdaemutest.Event {
	ext.mu.Lock()
	defer ext.mu.Unlock()
	return append([]lambdaemutest.Event(nil), ext.events...)
}

// echo answers "ok:<payload>", fails on "fail" and hangs until its deadline on "hang".
func echo(ctx context.Context, inv Invocation) ([]byte, error) {
	inv.Log("handling " + inv.RequestID)
	switch string(inv.Payload) {
	case "fail":
		return nil, errors.New("requested failure")
	case "hang":
		<-ctx.Done()
		return []byte("late"), nil
	}
	return []byte("ok:" + string(inv.Payload)), nil
}

func ctxWithTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func indexOf(recs []lambdaemutest.Record, typ, id string) int {
	for i, r := range recs {
		if r.Type == typ && (id == "" || r.Field("requestId") == id) {
			return i
		}
	}
	return -1
}

func TestRegistration(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 2, AccountID: "111122223333", FunctionName: "fn"})

	x, err := lambdaemutest.Register(ctx, emu.Addr(), "ext-a", "INVOKE", "SHUTDOWN")
	require.NoError(t, err)
	assert.NotEmpty(t, x.ID)
	assert.Equal(t, map[string]string{"functionName": "fn", "functionVersion": "$LATEST", "handler": "bootstrap", "accountId": "111122223333"}, x.Info)

	_, err = lambdaemutest.Register(ctx, emu.Addr(), "ext-a", "INVOKE")
	assertStatus(t, err, 409)
	_, err = lambdaemutest.Register(ctx, emu.Addr(), "ext-b", "BOGUS")
	assertStatus(t, err, 400)

	unknown := &lambdaemutest.Extension{API: emu.Addr(), ID: "not-an-id"}
	_, err = unknown.Next(ctx)
	assertStatus(t, err, 403)

	// Init ends when the runtime and both extensions wait in next; then
	// registration and subscription are closed.
	y, err := lambdaemutest.Register(ctx, emu.Addr(), "ext-b", "INVOKE")
	require.NoError(t, err)
	emu.RunRuntime(ctx, echo)
	nexts := make(chan error, 2)
	go func() { _, err := x.Next(ctx); nexts <- err }()
	go func() { _, err := y.Next(ctx); nexts <- err }()
	require.NoError(t, emu.WaitInit(ctx))
	_, err = lambdaemutest.Register(ctx, emu.Addr(), "late", "INVOKE")
	assertStatus(t, err, 403)
	err = x.Subscribe(ctx, lambdaemutest.SubscriptionBody("2025-01-29", "http://127.0.0.1:1/x", "platform"))
	assertStatus(t, err, 403)
	assert.Contains(t, err.Error(), "Telemetry.SubscriptionClosed")

	// exit/error: the pending next and every later call fail.
	require.NoError(t, y.Error(ctx, "exit", "Extension.Failed"))
	assertStatus(t, <-nexts, 403)
	_, err = y.Next(ctx)
	assertStatus(t, err, 403)
}

func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var se *lambdaemutest.StatusError
	if assert.ErrorAs(t, err, &se) {
		assert.Equal(t, status, se.Status, se.Body)
	}
}

func TestSubscriptionValidation(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 1, Telemetry: TelemetryConfig{RefuseSchemaVersions: []string{"2025-01-29"}}})
	x, err := lambdaemutest.Register(ctx, emu.Addr(), "ext", "INVOKE")
	require.NoError(t, err)
	valid := func(mut func(m map[string]any)) map[string]any {
		m := lambdaemutest.SubscriptionBody("2022-12-13", "http://sandbox.localdomain:4243/t", "platform", "function")
		mut(m)
		return m
	}
	buffering := func(items, bytes, timeout int) func(map[string]any) {
		return func(m map[string]any) {
			m["buffering"] = map[string]int{"maxItems": items, "maxBytes": bytes, "timeoutMs": timeout}
		}
	}
	tests := []struct {
		name    string
		body    map[string]any
		status  int
		message string
	}{
		{"valid", valid(func(map[string]any) {}), 200, ""},
		{"oldest schema", valid(func(m map[string]any) { m["schemaVersion"] = "2022-07-01" }), 200, ""},
		{"buffering omitted", valid(func(m map[string]any) { delete(m, "buffering") }), 200, ""},
		{"refused schema", valid(func(m map[string]any) { m["schemaVersion"] = "2025-01-29" }), 400, "not supported"},
		{"unknown schema", valid(func(m map[string]any) { m["schemaVersion"] = "2021-01-01" }), 400, "schemaVersion"},
		{"no types", valid(func(m map[string]any) { m["types"] = []string{} }), 400, "types"},
		{"unknown type", valid(func(m map[string]any) { m["types"] = []string{"metrics"} }), 400, "types"},
		{"maxItems low", valid(buffering(999, 262144, 25)), 400, "maxItems"},
		{"maxItems high", valid(buffering(10001, 262144, 25)), 400, "maxItems"},
		{"maxBytes low", valid(buffering(1000, 262143, 25)), 400, "maxBytes"},
		{"maxBytes high", valid(buffering(1000, 1048577, 25)), 400, "maxBytes"},
		{"timeout low", valid(buffering(1000, 262144, 24)), 400, "timeoutMs"},
		{"timeout high", valid(buffering(10000, 1048576, 30001)), 400, "timeoutMs"},
		{"bounds inclusive", valid(buffering(10000, 1048576, 30000)), 200, ""},
		{"protocol", valid(func(m map[string]any) { m["destination"] = map[string]string{"protocol": "TCP", "URI": "http://x:1/"} }), 400, "protocol"},
		{"https", valid(func(m map[string]any) {
			m["destination"] = map[string]string{"protocol": "HTTP", "URI": "https://x:1/"}
		}), 400, "URI"},
		{"reserved port", valid(func(m map[string]any) {
			m["destination"] = map[string]string{"protocol": "HTTP", "URI": "http://x:9001/"}
		}), 400, "9001"},
		{"no destination", valid(func(m map[string]any) { delete(m, "destination") }), 400, "destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := x.Subscribe(ctx, tt.body)
			if tt.status == 200 {
				assert.NoError(t, err)
				return
			}
			assertStatus(t, err, tt.status)
			assert.Contains(t, err.Error(), tt.message)
			assert.Contains(t, err.Error(), "ValidationError")
		})
	}
	anon := &lambdaemutest.Extension{API: emu.Addr()}
	assertStatus(t, anon.Subscribe(ctx, valid(func(map[string]any) {})), 403)
}

func TestInvokeLifecycle(t *testing.T) {
	ctx := ctxWithTimeout(t)
	var freezes, thaws atomic.Int32
	emu := startEmulator(t, Config{
		Extensions: 1, FunctionName: "fn", Region: "eu-west-1", AccountID: "111122223333", MemoryMB: 256,
		OnFreeze: func() { freezes.Add(1) }, OnThaw: func() { thaws.Add(1) },
	})
	ext := startExtension(t, emu, "ext", "")
	emu.RunRuntime(ctx, echo)

	caller := NewTraceHeader()
	res1, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("one"), TraceHeader: caller})
	require.NoError(t, err)
	assert.Equal(t, "success", res1.Status)
	assert.Equal(t, "ok:one", string(res1.Response))
	assert.True(t, emu.Frozen())

	// Frozen: the report of request 1 is queued but not delivered.
	assert.Never(t, func() bool {
		_, ok := lambdaemutest.Find(ext.listener.Records(), "platform.report", res1.RequestID)
		return ok
	}, 300*time.Millisecond, 10*time.Millisecond)

	res2, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("fail")})
	require.NoError(t, err)
	assert.Equal(t, "error", res2.Status)
	assert.Equal(t, "HandlerError", res2.ErrorType)
	assert.Contains(t, string(res2.Response), "requested failure")

	recs, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
		_, ok := lambdaemutest.Find(r, "platform.report", res1.RequestID)
		return ok
	})
	require.NoError(t, err)

	// INVOKE events carry the request, deadline, ARN and the runtime's trace header.
	evs := ext.received()
	require.Len(t, evs, 2)
	assert.Equal(t, "INVOKE", evs[0].EventType)
	assert.Equal(t, res1.RequestID, evs[0].RequestID)
	assert.Equal(t, "arn:aws:lambda:eu-west-1:111122223333:function:fn", evs[0].InvokedFunctionArn)
	assert.Equal(t, "X-Amzn-Trace-Id", evs[0].Tracing.Type)
	assert.Equal(t, res1.TraceHeader, evs[0].Tracing.Value)
	assert.Positive(t, evs[0].DeadlineMs)
	callerFields, runtimeFields := parseTraceHeader(caller), parseTraceHeader(res1.TraceHeader)
	assert.Equal(t, callerFields["Root"], runtimeFields["Root"])
	assert.Equal(t, res2.RequestID, evs[1].RequestID)
	assert.NotEmpty(t, res2.TraceHeader, "a sampled header is generated when the caller sends none")

	// Order as on Lambda.
	order := []int{
		indexOf(recs, "platform.initStart", ""),
		indexOf(recs, "platform.initRuntimeDone", ""),
		indexOf(recs, "platform.initReport", ""),
		indexOf(recs, "platform.start", res1.RequestID),
		indexOf(recs, "function", ""),
		indexOf(recs, "platform.runtimeDone", res1.RequestID),
		indexOf(recs, "platform.start", res2.RequestID),
	}
	for i := 1; i < len(order); i++ {
		assert.Less(t, order[i-1], order[i], "record %d out of order: %v", i, order)
	}
	assert.Greater(t, indexOf(recs, "platform.report", res1.RequestID), indexOf(recs, "platform.runtimeDone", res1.RequestID))
	assert.NotEqual(t, -1, indexOf(recs, "platform.extension", ""))
	assert.NotEqual(t, -1, indexOf(recs, "platform.telemetrySubscription", ""))

	start, _ := lambdaemutest.Find(recs, "platform.start", res1.RequestID)
	var tr struct{ SpanID, Type, Value string }
	require.NoError(t, json.Unmarshal([]byte(start.Field("tracing")), &tr))
	assert.Equal(t, caller, tr.Value)
	assert.Equal(t, runtimeFields["Parent"], tr.SpanID, "the runtime's parent is the invocation span")

	done, _ := lambdaemutest.Find(recs, "platform.runtimeDone", res1.RequestID)
	assert.Equal(t, "success", done.Field("status"))
	assert.Contains(t, done.Field("metrics"), `"producedBytes":6`)
	assert.Contains(t, done.Field("spans"), "responseLatency")
	assert.Contains(t, done.Field("spans"), "responseDuration")
	report, _ := lambdaemutest.Find(recs, "platform.report", res1.RequestID)
	assert.Contains(t, report.Field("metrics"), `"memorySizeMB":256`)
	assert.Contains(t, report.Field("metrics"), "initDurationMs", "the cold start's report carries the init duration")
	fn, _ := lambdaemutest.Find(recs, "function", "")
	assert.JSONEq(t, `"handling `+res1.RequestID+`"`, string(fn.Record))

	// The report reached the extension only after it had called next.
	ext.mu.Lock()
	assert.False(t, ext.reportBeforeNext[res1.RequestID])
	ext.mu.Unlock()

	_, err = emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	recs, err = ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
		_, ok := lambdaemutest.Find(r, "platform.report", res2.RequestID)
		return ok
	})
	require.NoError(t, err)
	report2, _ := lambdaemutest.Find(recs, "platform.report", res2.RequestID)
	assert.Equal(t, "error", report2.Field("status"))
	assert.NotContains(t, report2.Field("metrics"), "initDurationMs")

	assert.Empty(t, ActivityWhileFrozen(emu.Events()), "nothing may run while frozen")
	assert.Equal(t, int32(3), freezes.Load(), "after Init and after each invocation")
	assert.Equal(t, int32(3), thaws.Load(), "before each invocation and at SHUTDOWN")
}

func TestTimeout(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 1})
	ext := startExtension(t, emu, "ext", "")
	emu.RunRuntime(ctx, echo)

	res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("hang"), Timeout: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, "timeout", res.Status)
	assert.Equal(t, "Sandbox.Timedout", res.ErrorType)

	// The runtime is reset: its late answer is refused, and it serves the next request.
	res2, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("two")})
	require.NoError(t, err)
	assert.Equal(t, "success", res2.Status)
	assert.Equal(t, "ok:two", string(res2.Response))

	recs, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
		_, ok := lambdaemutest.Find(r, "platform.report", res.RequestID)
		return ok
	})
	require.NoError(t, err)
	done, _ := lambdaemutest.Find(recs, "platform.runtimeDone", res.RequestID)
	assert.Equal(t, "timeout", done.Field("status"))
	assert.Equal(t, "Sandbox.Timedout", done.Field("errorType"))
	report, _ := lambdaemutest.Find(recs, "platform.report", res.RequestID)
	assert.Equal(t, "timeout", report.Field("status"))
}

func TestShutdown(t *testing.T) {
	tests := []struct {
		name       string
		onShutdown string
		timeout    time.Duration
		ok         bool
	}{
		{name: "extension calls next again", ok: true},
		{name: "extension exits", onShutdown: "exit", ok: true},
		{name: "extension misses the deadline", onShutdown: "stuck", timeout: 200 * time.Millisecond, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxWithTimeout(t)
			emu := startEmulator(t, Config{Extensions: 1, ShutdownTimeout: tt.timeout})
			ext := startExtension(t, emu, "ext", tt.onShutdown)
			emu.RunRuntime(ctx, echo)
			res, err := emu.Invoke(ctx, InvokeRequest{Payload: []byte("x")})
			require.NoError(t, err)

			before := time.Now()
			sd, err := emu.Shutdown(ctx, "spindown")
			require.NoError(t, err)
			assert.Equal(t, tt.ok, sd.OK())
			require.Len(t, sd.Parties, 1)
			assert.Equal(t, "ext", sd.Parties[0].Name)
			assert.Equal(t, tt.ok, sd.Parties[0].Finished)

			evs := ext.received()
			require.Len(t, evs, 2)
			assert.Equal(t, "SHUTDOWN", evs[1].EventType)
			assert.Equal(t, "spindown", evs[1].ShutdownReason)
			want := emu.cfg.ShutdownTimeout
			assert.GreaterOrEqual(t, evs[1].DeadlineMs, before.Add(want).UnixMilli())
			assert.Equal(t, sd.Deadline.UnixMilli(), evs[1].DeadlineMs)
			if tt.ok {
				ext.mu.Lock()
				assert.True(t, ext.shutdownReport, "the last report is delivered during SHUTDOWN")
				ext.mu.Unlock()
				_, ok := lambdaemutest.Find(ext.listener.Records(), "platform.report", res.RequestID)
				assert.True(t, ok)
			}
			_, err = emu.Invoke(ctx, InvokeRequest{})
			assert.ErrorIs(t, err, ErrShutdown)
		})
	}
}

func TestLogsDropped(t *testing.T) {
	tests := []struct {
		name   string
		cfg    TelemetryConfig
		reason string
		// respond picks the status of the n-th POST; release unblocks it.
		respond func(release <-chan struct{}) func(n int) int
		lines   int
	}{
		{
			name:   "endpoint fails",
			cfg:    TelemetryConfig{DeliveryAttempts: 2, RetryBackoff: time.Millisecond},
			reason: "failed after 2 attempts",
			respond: func(<-chan struct{}) func(int) int {
				return func(n int) int {
					if n <= 2 {
						return 500
					}
					return 200
				}
			},
		},
		{
			name:   "subscriber too slow",
			cfg:    TelemetryConfig{QueueLimitBytes: 4096},
			reason: "slower than the logs production rate",
			respond: func(release <-chan struct{}) func(int) int {
				return func(n int) int {
					if n == 1 {
						<-release
					}
					return 200
				}
			},
			lines: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxWithTimeout(t)
			release := make(chan struct{})
			emu := startEmulator(t, Config{Extensions: 1, Telemetry: tt.cfg})
			x, err := lambdaemutest.Register(ctx, emu.Addr(), "ext", "INVOKE")
			require.NoError(t, err)
			l, err := lambdaemutest.NewListener()
			require.NoError(t, err)
			defer l.Close()
			l.Respond = tt.respond(release)
			require.NoError(t, x.Subscribe(ctx, lambdaemutest.SubscriptionBody("2025-01-29", l.URL, "platform", "function")))
			var wg sync.WaitGroup
			defer wg.Wait()
			nctx, cancel := context.WithCancel(ctx)
			defer cancel()
			wg.Go(func() {
				for {
					if _, err := x.Next(nctx); err != nil {
						return
					}
				}
			})
			emu.RunRuntime(ctx, func(_ context.Context, inv Invocation) ([]byte, error) {
				for i := range tt.lines {
					inv.Log(fmt.Sprintf("line %d %s", i, strings.Repeat("x", 100)))
				}
				return nil, nil
			})
			_, err = emu.Invoke(ctx, InvokeRequest{})
			require.NoError(t, err)
			close(release)
			_, err = emu.Shutdown(ctx, "spindown") // thaw, so the drop notice goes out
			require.NoError(t, err)
			// Every drop is reported: the droppedRecords of all notices add up
			// to what the emulator dropped.
			dropsLogged := func() int {
				n := 0
				for _, e := range emu.Events() {
					if e.Kind == EventDrop {
						n += e.Count
					}
				}
				return n
			}
			var reported int
			recs, err := l.WaitFor(ctx, func(r []lambdaemutest.Record) bool {
				reported = 0
				for _, rec := range r {
					if rec.Type == "platform.logsDropped" {
						n, _ := strconv.Atoi(rec.Field("droppedRecords"))
						reported += n
					}
				}
				return reported > 0 && reported == dropsLogged()
			})
			require.NoError(t, err, "reported %d of %d drops", reported, dropsLogged())
			dropped, _ := lambdaemutest.Find(recs, "platform.logsDropped", "")
			assert.Contains(t, dropped.Field("reason"), tt.reason)
			assert.NotEqual(t, "0", dropped.Field("droppedBytes"))
			cancel()
			_ = emu.Close()
		})
	}
}

func TestJSONLogFormat(t *testing.T) {
	ctx := ctxWithTimeout(t)
	emu := startEmulator(t, Config{Extensions: 1, Telemetry: TelemetryConfig{LogFormat: LogFormatJSON}})
	ext := startExtension(t, emu, "ext", "", "function")
	emu.RunRuntime(ctx, func(_ context.Context, inv Invocation) ([]byte, error) {
		inv.Log("plain text")
		inv.Log(`{"level":"ERROR","msg":"structured"}`)
		return nil, nil
	})
	res, err := emu.Invoke(ctx, InvokeRequest{})
	require.NoError(t, err)
	recs, err := ext.listener.WaitFor(ctx, func(r []lambdaemutest.Record) bool { return len(r) >= 2 })
	require.NoError(t, err)
	require.Len(t, recs, 2, "a function-only subscriber gets no platform records")
	assert.Equal(t, "function", recs[0].Type)
	assert.Equal(t, "plain text", recs[0].Field("message"))
	assert.Equal(t, "INFO", recs[0].Field("level"))
	assert.Equal(t, res.RequestID, recs[0].Field("requestId"))
	assert.NotEmpty(t, recs[0].Field("timestamp"))
	assert.JSONEq(t, `{"level":"ERROR","msg":"structured","requestId":"`+res.RequestID+`"}`, string(recs[1].Record))
}

func TestInitFailure(t *testing.T) {
	tests := []struct {
		name    string
		fail    func(ctx context.Context, t *testing.T, emu *Emulator)
		errType string
	}{
		{
			name: "extension init/error",
			fail: func(ctx context.Context, t *testing.T, emu *Emulator) {
				x, err := lambdaemutest.Register(ctx, emu.Addr(), "ext", "INVOKE")
				require.NoError(t, err)
				require.NoError(t, x.Error(ctx, "init", "Extension.ConfigInvalid"))
			},
			errType: "Extension.ConfigInvalid",
		},
		{
			name: "runtime init/error",
			fail: func(ctx context.Context, t *testing.T, emu *Emulator) {
				_, err := lambdaemutest.Register(ctx, emu.Addr(), "ext", "INVOKE")
				require.NoError(t, err)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+emu.Addr()+"/2018-06-01/runtime/init/error", strings.NewReader(`{"errorMessage":"boom","errorType":"Runtime.ImportError"}`))
				req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ImportError")
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			},
			errType: "Runtime.ImportError",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxWithTimeout(t)
			emu := startEmulator(t, Config{Extensions: 1})
			tt.fail(ctx, t, emu)
			err := emu.WaitInit(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errType)
			_, err = emu.Invoke(ctx, InvokeRequest{})
			assert.Error(t, err)
			var report Envelope
			var types []string
			for _, r := range emu.Records() {
				types = append(types, r.Type)
				if r.Type == "platform.initReport" {
					report = r
				}
			}
			assert.Equal(t, "platform.initStart", types[0])
			assert.Contains(t, string(report.Record), `"status":"error"`)
			assert.Contains(t, string(report.Record), `"errorType":"`+tt.errType+`"`)
			http.DefaultClient.CloseIdleConnections()
		})
	}
}
