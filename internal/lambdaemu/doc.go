// Package lambdaemu is the project's one emulator of an AWS Lambda execution
// environment: the Runtime API (2018-06-01), the Extensions API (2020-01-01)
// and the Telemetry API (2022-07-01) on one loopback address, with Lambda's
// lifecycle, including the freeze.
//
// # Lifecycle (as documented by AWS)
//
//   - Init: extensions register (only now; 403 afterwards) and subscribe to
//     telemetry (403 Telemetry.SubscriptionClosed afterwards). Once
//     Config.Extensions extensions (plus one per StartExtension) registered and
//     a runtime exists, platform.initStart is emitted; the runtime's first
//     /invocation/next emits platform.initRuntimeDone. Init ends when the
//     runtime and every extension wait in next: platform.initReport, then the
//     environment freezes. Records emitted during Init reach late subscribers.
//   - Invoke: thaw; platform.start; INVOKE to every extension registered for
//     it (tracing value = the runtime's Lambda-Runtime-Trace-Id: the caller's
//     root with the invocation's span as parent, the span being tracing.spanId
//     of the platform records); the runtime gets the event. /response or
//     /error emits platform.runtimeDone (status success/error/failure, metrics
//     durationMs/producedBytes, spans responseLatency/responseDuration). When
//     the deadline passes first: runtimeDone status timeout, errorType
//     Sandbox.Timedout, and the runtime is reset (its late answer is refused;
//     the next Invoke waits until it asks for work again). The invocation ends
//     when the runtime and every INVOKE extension are back in next: the
//     environment freezes and only then is platform.report queued, so it is
//     delivered at the next thaw or during SHUTDOWN.
//   - Frozen: the emulator's own goroutines stop (telemetry delivery; the
//     buffering and retry timers count only thawed time); Config.OnFreeze /
//     OnThaw run, and processes started with ProcessOptions.Freeze get
//     SIGSTOP/SIGCONT. ActivityWhileFrozen(Events()) lists API calls and
//     deliveries that started while frozen (there should be none).
//   - Shutdown: thaw, stop the runtime, SHUTDOWN {shutdownReason, deadlineMs =
//     now + ShutdownTimeout (2 s)} to the extensions registered for it, keep
//     delivering telemetry (the last report), wait until each is done (process
//     mode: it exited; in-process: it called next again) or the deadline, then
//     kill what still runs. ShutdownResult says who finished in time.
//
// Telemetry delivery is per subscriber: records of the subscribed types
// (platform, function, extension) are buffered until maxItems or maxBytes is
// reached or timeoutMs of thawed time passed, then POSTed as a JSON array of
// {time, type, record} to the destination (sandbox.localdomain resolves to
// 127.0.0.1), one batch at a time, retried with backoff. A batch that keeps
// failing, or records beyond TelemetryConfig.QueueLimitBytes, are dropped and
// reported with platform.logsDropped; with TelemetryConfig.DuplicateDeliveries
// every accepted batch is POSTed again, as Lambda re-delivers what it believes
// failed. Also emitted: platform.extension,
// platform.telemetrySubscription, function records (the in-process handler's
// Invocation.Log or a runtime process's output lines) and extension records
// (an extension process's output lines, or ExtensionLog), as strings or, with
// LogFormatJSON, as {timestamp, level, requestId, message} objects.
//
// # In-process use (an extension running as goroutines of the test)
//
//	emu, err := lambdaemu.Start(lambdaemu.Config{Extensions: 1})
//	defer emu.Close()
//	emu.Setenv(t) // AWS_LAMBDA_RUNTIME_API etc. for the code under test
//	// start the extension (e.g. the collector with the lambdatelemetry receiver);
//	// it registers, subscribes and calls /event/next
//	emu.RunRuntime(ctx, func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
//		inv.Log("hello") // a function record
//		return []byte("ok"), nil
//	})
//	res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(`{}`)}) // returns frozen
//	sd, err := emu.Shutdown(ctx, "spindown") // sd.OK(): everyone finished in time
//
// Assert on what the extension exported, on emu.Records() (every record the
// emulator emitted, for expected values) and on emu.Events() (timestamps of
// API calls, deliveries, freezes and thaws: e.g. nothing exported after the
// freeze of an invocation that is not accounted for at the next thaw).
// PostRuntime reads from it the billed time an extension adds after each
// response; WhileFrozen says whether a moment (say, a backend's arrival
// time) fell in a frozen period.
//
// # Whole-binary use
//
//	p, err := emu.StartExtension("/path/to/otelcol-lambda", lambdaemu.ProcessOptions{
//		Env: []string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI=/path/config.yaml"},
//		Output: os.Stdout, Freeze: true, // SIGSTOP while frozen
//	})
//	emu.RunRuntime(ctx, handler) // or emu.StartRuntime(bootstrapPath, ...)
//	... Invoke, Shutdown; p.ExitErr() ...
//
// cmd/lambda-harness wraps exactly this for the README's demo. Each process
// leads its own process group, and freeze, thaw and kill signal the group, so
// a launcher's child (the layer's collector) is frozen with it. Each
// environment has its own TMPDIR (its /tmp). As on Lambda, /init/error is
// accepted only before the extension's first /event/next (403
// Extension.InvalidExtensionState after); ExtensionErrors returns what was
// reported.
//
// # Under AWS's Runtime Interface Emulator
//
// StartRIE runs aws-lambda-rie (FindRIE / InstallRIE) in a private mount and
// PID namespace with a scratch directory bound over /opt, with wrappers as
// /opt/extensions/<name> and as bootstrap that point AWS_LAMBDA_RUNTIME_API at
// an RIEProxy and send output lines to it. RIE implements Runtime and
// Extensions APIs; the proxy (StartRIEProxy) serves the Telemetry API with the
// same code as the emulator and synthesises the platform records from the
// traffic. RIE.Invoke posts an invocation, RIE.Shutdown sends SIGTERM (RIE
// then sends SHUTDOWN). Needs root, unshare and bash.
//
// Package lambdaemutest holds a minimal Extensions/Telemetry API client and
// telemetry listener for tests; testdata/testextension and
// testdata/testfunction are tiny process-mode extension and runtime.
package lambdaemu
