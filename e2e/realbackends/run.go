package realbackends

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

// Invocation is one request of the plan and what the emulator said of it.
type Invocation struct {
	Name      string // cold start, normal, slow, failing, timeout
	Payload   string
	RequestID string
	TraceID   string // 32 hex, from the X-Ray header Lambda gave the function
	Status    string // runtimeDone status
	Took      time.Duration
}

// Step is one invocation to make: its payload and, when set, the caller's
// X-Ray header (else the emulator makes one up).
type Step struct{ Name, Payload, TraceHeader string }

// Plan reproduces the three p99 causes: a cold start, a payload that makes
// inference slow, an error, and a timeout.
var Plan = []Step{
	{Name: "cold start", Payload: `{"text":"The acting was outstanding and the ending made me smile."}`},
	{Name: "normal", Payload: `{"text":"A dull, lifeless film. I want my money back."}`},
	{Name: "slow", Payload: `{"text":"The plot is boring and the acting is mediocre. Avoid it.","repeat":200000}`},
	{Name: "failing", Payload: `{"text":""}`},
	{Name: "normal", Payload: `{"text":"Great value, works perfectly, would buy again."}`},
	{Name: "timeout", Payload: `{"text":"Waiting on a hung dependency.","dependency_ms":10000}`},
}

// FunctionTimeout is the example function's timeout in the run: well above the
// slow invocation even on a loaded machine, below the hung dependency.
const FunctionTimeout = 6 * time.Second

// BuildFunction compiles examples/sentiment-function as a Lambda bootstrap.
func BuildFunction(ctx context.Context, repo, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Dir = filepath.Join(repo, "examples", "sentiment-function")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the example function: %w\n%s", err, b)
	}
	return out, nil
}

// Result is what a run did: its invocations and how many function log
// records Lambda (the emulator) emitted for each, by request id; and of
// those, the JSON lines with an event field and the inference_success
// events with the sum of their duration_ms (what the logstometrics seed
// rule derives).
type Result struct {
	Invocations   []Invocation
	FunctionLines map[string]int
	EventLines    int
	Successes     int
	DurationSum   float64
}

// Environment is an execution environment to run: the function's name
// (service.name of what the extension exports) and the extension's config,
// more --config flags, and environment (NAME=value) besides its listeners.
type Environment struct {
	FunctionName, Config string
	Args, Env            []string
}

// Run starts an execution environment with the extension and the function,
// invokes plan and shuts down. The extension's output goes to out.
func Run(ctx context.Context, e Environment, extension, function string, plan []Step, out io.Writer) (Result, error) {
	invs, emu, err := run(ctx, e, extension, function, plan, out)
	res := Result{Invocations: invs, FunctionLines: map[string]int{}}
	if emu != nil {
		// Invocations run one at a time: a function line belongs to the
		// invocation whose platform.start came last before it.
		var current string
		for _, rec := range emu.Records() {
			switch rec.Type {
			case "platform.start":
				var r struct {
					RequestID string `json:"requestId"`
				}
				if json.Unmarshal(rec.Record, &r) == nil {
					current = r.RequestID
				}
			case "function":
				res.FunctionLines[current]++
				res.count(rec.Record)
			}
		}
		_ = emu.Close()
	}
	return res, err
}

// count counts a function record (a text line: a JSON string) if it is a
// JSON object with an event, and its duration_ms if it is an
// inference_success.
func (r *Result) count(record json.RawMessage) {
	var line string
	var fields struct {
		Event      string  `json:"event"`
		DurationMs float64 `json:"duration_ms"`
	}
	if json.Unmarshal(record, &line) != nil || json.Unmarshal([]byte(line), &fields) != nil || fields.Event == "" {
		return
	}
	r.EventLines++
	if fields.Event == "inference_success" {
		r.Successes++
		r.DurationSum += fields.DurationMs
	}
}

func run(ctx context.Context, e Environment, extension, function string, plan []Step, out io.Writer) ([]Invocation, *lambdaemu.Emulator, error) {
	emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: e.FunctionName, MemoryMB: 512, Timeout: FunctionTimeout})
	if err != nil {
		return nil, nil, err
	}
	otlpHTTP, err := loopback.FreeAddr()
	if err != nil {
		return nil, emu, err
	}
	otlpGRPC, err := loopback.FreeAddr()
	if err != nil {
		return nil, emu, err
	}
	ext, err := emu.StartExtension(extension, lambdaemu.ProcessOptions{
		Args:   append(loopback.CollectorArgs(e.Config, otlpHTTP, otlpGRPC), e.Args...),
		Env:    e.Env,
		Output: out, Freeze: true,
	})
	if err != nil {
		return nil, emu, err
	}
	if _, err := emu.StartRuntime(function, lambdaemu.ProcessOptions{
		Env:    []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlpHTTP, "OTEL_SERVICE_NAME=" + e.FunctionName},
		Output: out,
	}); err != nil {
		return nil, emu, err
	}
	var invs []Invocation
	for _, p := range plan {
		start := time.Now()
		res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(p.Payload), TraceHeader: p.TraceHeader})
		if err != nil {
			return invs, emu, fmt.Errorf("%s invocation: %w", p.Name, err)
		}
		traceID, _ := samplefunction.XRay(res.TraceHeader)
		invs = append(invs, Invocation{Name: p.Name, Payload: p.Payload, RequestID: res.RequestID,
			TraceID: traceID.String(), Status: res.Status, Took: time.Since(start)})
	}
	sd, err := emu.Shutdown(ctx, "spindown")
	if err != nil {
		return invs, emu, err
	}
	<-ext.Done()
	if !sd.OK() {
		return invs, emu, fmt.Errorf("the extension missed the SHUTDOWN deadline: %+v", sd)
	}
	if err := ext.ExitErr(); err != nil {
		return invs, emu, fmt.Errorf("the extension exited with %w", err)
	}
	return invs, emu, nil
}

// Slowest returns the invocation that took longest among those that did not
// time out (a timeout is slow by definition).
func Slowest(invs []Invocation) Invocation {
	var slow Invocation
	for _, inv := range invs {
		if !strings.EqualFold(inv.Status, "timeout") && inv.Took > slow.Took {
			slow = inv
		}
	}
	return slow
}
