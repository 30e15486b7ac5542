package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-o11y/otelcol-lambda/examples/sentiment-function/model"
)

// Request is the invocation payload.
type Request struct {
	Text string `json:"text"`
	// Model defaults to model.DefaultName.
	Model string `json:"model,omitempty"`
	// Repeat scores the text this many times (default 1): the slow path.
	Repeat int `json:"repeat,omitempty"`
	// DependencyMs simulates a call to a downstream dependency (a feature
	// store, say) that takes this long and, like many client libraries, does
	// not honour the context: the way real functions run into their timeout.
	DependencyMs int `json:"dependency_ms,omitempty"`
}

// Response is the invocation result.
type Response struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// MaxRepeat bounds Request.Repeat so one payload cannot run for hours.
const MaxRepeat = 1_000_000

// flushTimeout bounds the end-of-invocation export: the collector extension
// is on localhost, and a missing one must not hold every response.
const flushTimeout = time.Second

// Span attributes of the inference span (besides semconv's faas.* and error.type).
const (
	attrModelName      = attribute.Key("model.name")
	attrInputLength    = attribute.Key("inference.input_length")
	attrRepeat         = attribute.Key("inference.repeat")
	attrLabel          = attribute.Key("inference.label")
	attrScore          = attribute.Key("inference.score")
	attrFeatureLookups = attribute.Key("inference.feature_lookups")
	attrVocabularySize = attribute.Key("model.vocabulary_size")
)

// InferenceError is every failure the handler returns; Lambda reports its
// type name as the invocation's errorType.
type InferenceError struct {
	// Reason is a stable code: empty_text, invalid_repeat, unknown_model,
	// model_load_failed or deadline_exceeded.
	Reason string
	Err    error
}

func (e *InferenceError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *InferenceError) Unwrap() error { return e.Err }

type flushingTracerProvider interface {
	trace.TracerProvider
	ForceFlush(context.Context) error
}

type handler struct {
	models     *model.Registry
	tracer     trace.Tracer
	tp         flushingTracerProvider
	logger     *slog.Logger
	propagator xray.Propagator
	// invoked turns true on the first invocation: the others are warm.
	invoked atomic.Bool
}

func newHandler(models *model.Registry, tp flushingTracerProvider, logger *slog.Logger) *handler {
	return &handler{
		models: models,
		tracer: tp.Tracer("github.com/lambda-o11y/otelcol-lambda/examples/sentiment-function"),
		tp:     tp,
		logger: logger,
	}
}

// Handle classifies req.Text. Its inference span is a child of the
// invocation's X-Ray trace context, so it joins the trace the extension builds
// from the platform events, and is exported before Handle returns, because
// Lambda may freeze the environment as soon as the response is sent.
func (h *handler) Handle(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	coldStart := !h.invoked.Swap(true)
	name := req.Model
	if name == "" {
		name = model.DefaultName
	}
	inputLength := utf8.RuneCountInString(req.Text)
	ctx = h.propagator.Extract(ctx, propagation.MapCarrier{"X-Amzn-Trace-Id": traceHeader(ctx)})
	ctx, span := h.tracer.Start(ctx, "inference", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
		attrModelName.String(name),
		attrInputLength.Int(inputLength),
		attrRepeat.Int(req.Repeat),
		semconv.FaaSColdstart(coldStart),
	))
	sc := span.SpanContext()
	logger := h.logger.With(
		"trace_id", sc.TraceID().String(),
		"span_id", sc.SpanID().String(),
		"model_name", name,
		"input_length", inputLength,
		"cold_start", coldStart,
	)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		span.SetAttributes(semconv.FaaSInvocationID(lc.AwsRequestID))
		logger = logger.With("request_id", lc.AwsRequestID)
	}
	logger.InfoContext(ctx, "inference started", "event", "inference_start", "repeat", req.Repeat)

	resp, lookups, err := h.infer(ctx, span, logger, name, req)
	durationMs := milliseconds(time.Since(start))
	if err != nil {
		var ie *InferenceError
		errors.As(err, &ie)
		span.SetAttributes(semconv.ErrorTypeKey.String(ie.Reason))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		logger.ErrorContext(ctx, "inference failed", "event", "inference_failure", "duration_ms", durationMs,
			"error", err.Error(), "error_type", ie.Reason)
	} else {
		span.SetAttributes(attrLabel.String(resp.Label), attrScore.Float64(resp.Score), attrFeatureLookups.Int(lookups))
		logger.InfoContext(ctx, "inference succeeded", "event", "inference_success", "duration_ms", durationMs,
			"label", resp.Label, "score", resp.Score, "feature_lookups", lookups)
	}
	span.End()

	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if ferr := h.tp.ForceFlush(flushCtx); ferr != nil {
		logger.WarnContext(ctx, "span export failed", "event", "telemetry_flush_failure", "error", ferr.Error())
	}
	return resp, err
}

// infer validates req, loads the model on first use and scores the text
// req.Repeat times. It returns the number of feature look-ups done.
func (h *handler) infer(ctx context.Context, span trace.Span, logger *slog.Logger, name string, req Request) (Response, int, error) {
	if strings.TrimSpace(req.Text) == "" {
		return Response{}, 0, &InferenceError{Reason: "empty_text", Err: errors.New("text is empty")}
	}
	if req.Repeat < 0 || req.Repeat > MaxRepeat {
		return Response{}, 0, &InferenceError{Reason: "invalid_repeat", Err: fmt.Errorf("repeat %d is outside [0, %d]", req.Repeat, MaxRepeat)}
	}
	m, err := h.load(ctx, logger, name)
	if err != nil {
		return Response{}, 0, err
	}
	if req.DependencyMs > 0 {
		time.Sleep(time.Duration(req.DependencyMs) * time.Millisecond)
	}
	span.SetAttributes(attrVocabularySize.Int(m.VocabularySize()))
	var p model.Prediction
	lookups := 0
	for range max(req.Repeat, 1) {
		// Past the invocation's deadline Lambda has given up on this
		// response; stop burning CPU on it.
		if err := ctx.Err(); err != nil {
			return Response{}, lookups, &InferenceError{Reason: "deadline_exceeded", Err: err}
		}
		p = m.Predict(req.Text)
		lookups += p.Lookups
	}
	return Response{Label: p.Label, Score: math.Round(p.Score*1e4) / 1e4}, lookups, nil
}

// load gets the model; the call that parses it (the cold path) gets its own
// model_load span and log line.
func (h *handler) load(ctx context.Context, logger *slog.Logger, name string) (*model.Model, error) {
	start := time.Now()
	m, loaded, err := h.models.Get(name)
	switch {
	case errors.Is(err, model.ErrUnknownModel):
		return nil, &InferenceError{Reason: "unknown_model", Err: err}
	case err != nil:
		return nil, &InferenceError{Reason: "model_load_failed", Err: err}
	case loaded:
		end := time.Now()
		_, span := h.tracer.Start(ctx, "model_load", trace.WithTimestamp(start),
			trace.WithAttributes(attrModelName.String(name), attrVocabularySize.Int(m.VocabularySize())))
		span.End(trace.WithTimestamp(end))
		logger.InfoContext(ctx, "model loaded", "event", "model_load", "duration_ms", milliseconds(end.Sub(start)),
			"vocabulary_size", m.VocabularySize())
	}
	return m, nil
}

// traceHeader is the invocation's X-Ray header: aws-lambda-go puts the
// Lambda-Runtime-Trace-Id header in the context (and in _X_AMZN_TRACE_ID
// when the runtime serves one invocation at a time).
func traceHeader(ctx context.Context) string {
	if v, ok := ctx.Value("x-amzn-trace-id").(string); ok && v != "" {
		return v
	}
	return os.Getenv("_X_AMZN_TRACE_ID")
}

func milliseconds(d time.Duration) float64 {
	return math.Round(float64(d.Microseconds())) / 1e3
}
