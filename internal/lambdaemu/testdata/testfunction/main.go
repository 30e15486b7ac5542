// Command testfunction is a tiny runtime (bootstrap) for whole-binary tests:
// it serves the Runtime API with lambdaemu.ServeRuntime, prints one log line
// per invocation, fails when the payload is "fail" and exits (crashes) on "exit".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

func main() {
	handler := func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		inv.Log("handling " + inv.RequestID + " trace " + inv.TraceHeader)
		switch string(inv.Payload) {
		case `"fail"`:
			return nil, errors.New("failing as asked")
		case `"exit"`:
			os.Exit(3)
		}
		return []byte(`"ok"`), nil
	}
	err := lambdaemu.ServeRuntime(context.Background(), os.Getenv("AWS_LAMBDA_RUNTIME_API"), handler, func(_, line string) { fmt.Println(line) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "testfunction:", err)
		os.Exit(1)
	}
}
