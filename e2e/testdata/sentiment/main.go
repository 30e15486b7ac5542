// Command sentiment runs the whole-binary tests' function (package
// e2e/internal/sentiment) as a Lambda runtime (bootstrap), exporting to
// $FUNCTION_OTLP_ENDPOINT.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lambda-o11y/otelcol-lambda/e2e/internal/sentiment"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

func main() {
	handler := sentiment.Handler(os.Getenv("FUNCTION_OTLP_ENDPOINT"))
	if err := lambdaemu.ServeRuntime(context.Background(), os.Getenv("AWS_LAMBDA_RUNTIME_API"), handler, func(_, line string) { fmt.Println(line) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
