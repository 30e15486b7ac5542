// Command lambda-harness runs an extension binary in the project's Lambda
// emulator (internal/lambdaemu) against a small in-process sample function:
//
//	lambda-harness --extension PATH --config PATH [--invocations N]
//
// It starts the emulator, runs the extension with the Lambda environment (and
// OPENTELEMETRY_COLLECTOR_CONFIG_URI when --config is given), invokes the
// function N times with X-Ray trace headers (a cold start, a failing and a slow
// invocation), stops the extension process (SIGSTOP) whenever the environment
// is frozen, sends SHUTDOWN, and forwards the extension's output to stdout. It
// exits 1 when the extension did not register, crashed, or missed a deadline.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// demoConfig is the config used when --config is not given.
//
//go:embed demo-config.yaml
var demoConfig string

func main() {
	var opts options
	flag.StringVar(&opts.extension, "extension", "", "path of the extension executable (required)")
	flag.StringVar(&opts.config, "config", "", "collector config, passed as OPENTELEMETRY_COLLECTOR_CONFIG_URI (default: the embedded demo-config.yaml)")
	flag.IntVar(&opts.invocations, "invocations", 4, "number of invocations")
	flag.StringVar(&opts.otlpEndpoint, "otlp-endpoint", "127.0.0.1:4318", "OTLP/HTTP endpoint the sample function exports a span to (empty: none)")
	flag.DurationVar(&opts.slow, "slow", 800*time.Millisecond, "duration of the slow invocation")
	flag.DurationVar(&opts.timeout, "timeout", 3*time.Second, "function timeout")
	flag.Parse()
	if opts.extension == "" || opts.invocations < 1 {
		fmt.Fprintln(os.Stderr, "usage: lambda-harness --extension PATH [--config PATH] [--invocations N]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "[harness] FAIL:", err)
		stop()
		os.Exit(1)
	}
}
