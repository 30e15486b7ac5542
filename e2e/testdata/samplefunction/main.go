// Command samplefunction runs internal/samplefunction as a Lambda runtime
// (bootstrap) for the tests under AWS's RIE, exporting to
// $FUNCTION_OTLP_ENDPOINT.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
)

func main() {
	fn := samplefunction.New(os.Getenv("FUNCTION_OTLP_ENDPOINT"), 100*time.Millisecond)
	defer fn.Close()
	if err := lambdaemu.ServeRuntime(context.Background(), os.Getenv("AWS_LAMBDA_RUNTIME_API"), fn.Handle, func(_, line string) { fmt.Println(line) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
