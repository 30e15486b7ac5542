package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// options are the command line.
type options struct {
	extension    string
	config       string
	invocations  int
	otlpEndpoint string
	slow         time.Duration
	timeout      time.Duration
	extraEnv     []string
}

// plan is the payload of invocation i (from 0): a cold start, one failing and
// one slow invocation, then normal ones.
func plan(i int) string {
	switch i {
	case 1:
		return "fail"
	case 2:
		return "slow"
	}
	return "normal"
}

// run drives one execution environment: Init with the extension, the
// invocations, SHUTDOWN. It returns an error when the extension misbehaved.
func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "[harness] "+format+"\n", args...) }
	emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: "harness-sample", Timeout: opts.timeout})
	if err != nil {
		return err
	}
	defer emu.Close()
	env := append([]string(nil), opts.extraEnv...)
	if opts.config != "" {
		abs, err := filepath.Abs(opts.config)
		if err != nil {
			return err
		}
		env = append(env, "OPENTELEMETRY_COLLECTOR_CONFIG_URI="+abs)
	} else {
		// The embedded default travels in an environment variable, read by the
		// collector's env provider: nothing to write or clean up.
		env = append(env, "OTELCOL_LAMBDA_DEMO_CONFIG="+demoConfig, "OPENTELEMETRY_COLLECTOR_CONFIG_URI=env:OTELCOL_LAMBDA_DEMO_CONFIG")
	}
	logf("Runtime API on %s; starting extension %s", emu.Addr(), opts.extension)
	proc, err := emu.StartExtension(opts.extension, lambdaemu.ProcessOptions{Env: env, Output: stdout, Freeze: true})
	if err != nil {
		return err
	}
	endpoint := ""
	if opts.otlpEndpoint != "" {
		endpoint = "http://" + opts.otlpEndpoint
	}
	fn := samplefunction.New(endpoint, opts.slow)
	defer fn.Close()
	emu.RunRuntime(ctx, fn.Handle)

	var problems []string
	initCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = emu.WaitInit(initCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("extension did not complete Init (register and call next): %w", err)
	}
	logf("Init done; extension registered")
	for i := range opts.invocations {
		action := plan(i)
		payload, _ := json.Marshal(map[string]string{"action": action})
		res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: payload, TraceHeader: lambdaemu.NewTraceHeader()})
		if err != nil {
			return fmt.Errorf("invocation %d: %w", i+1, err)
		}
		logf("invocation %d (%s): request %s status %s %s trace %s", i+1, action, res.RequestID, res.Status, res.ErrorType, res.TraceHeader)
		if len(res.LateExtensions) > 0 {
			problems = append(problems, fmt.Sprintf("invocation %d: extension did not call next before the deadline", i+1))
		}
		select {
		case <-proc.Done():
			problems = append(problems, fmt.Sprintf("extension exited during invocation %d: %v", i+1, proc.ExitErr()))
		default:
		}
		if len(problems) > 0 {
			break
		}
	}
	sd, err := emu.Shutdown(ctx, "spindown")
	if err != nil {
		return err
	}
	<-proc.Done()
	for _, p := range sd.Parties {
		logf("SHUTDOWN: %s finished=%v (deadline %s)", p.Name, p.Finished, sd.Deadline.Format(time.RFC3339Nano))
	}
	if !sd.OK() {
		problems = append(problems, "extension missed the SHUTDOWN deadline")
	}
	if err := proc.ExitErr(); err != nil && sd.OK() {
		problems = append(problems, fmt.Sprintf("extension exited with %v", err))
	}
	for _, line := range postRuntime(emu.Records()) {
		logf("%s", line)
	}
	for _, ev := range lambdaemu.ActivityWhileFrozen(emu.Events()) {
		logf("while frozen: %s %s %s", ev.Kind, ev.Party, ev.Detail)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	logf("extension behaved: registered, drained, shut down within the deadline")
	return nil
}

// postRuntime lists, per request, the time the extension added after the
// runtime's response (report duration minus runtimeDone duration).
func postRuntime(recs []lambdaemu.Envelope) []string {
	type metrics struct {
		RequestID string `json:"requestId"`
		Metrics   struct {
			DurationMs float64 `json:"durationMs"`
		} `json:"metrics"`
	}
	done := map[string]float64{}
	var out []string
	for _, r := range recs {
		var m metrics
		if json.Unmarshal(r.Record, &m) != nil {
			continue
		}
		switch r.Type {
		case "platform.runtimeDone":
			done[m.RequestID] = m.Metrics.DurationMs
		case "platform.report":
			if d, ok := done[m.RequestID]; ok {
				out = append(out, fmt.Sprintf("request %s: post-runtime extension time %.3f ms", m.RequestID, m.Metrics.DurationMs-d))
			}
		}
	}
	return out
}
