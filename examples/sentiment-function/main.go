// Command sentiment-function is an AWS Lambda function (provided.al2023,
// binary name bootstrap) that classifies the sentiment of a text with the
// bag-of-words model in ./model, traced with the OpenTelemetry Go SDK and
// logging JSON lines with log/slog.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-o11y/otelcol-lambda/examples/sentiment-function/model"
)

func main() {
	service := serviceName()
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", service)
	// aws-lambda-go reports handler errors and runtime warnings with the log
	// package; route them through the same JSON handler so every line the
	// function writes is JSON.
	slog.SetDefault(logger)
	slog.SetLogLoggerLevel(slog.LevelError)
	tp, err := newTracerProvider(context.Background(), service)
	if err != nil {
		logger.Error("cannot set up tracing", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(newHandler(model.Embedded(), tp, logger).Handle)
}
