package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-o11y/otelcol-lambda/examples/sentiment-function/model"
)

const (
	xrayHeader    = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	wantTraceID   = "5759e988bd862e3fe1be46a994272793"
	wantParentID  = "53995c3f42cd8ad8"
	testRequestID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
)

type fixture struct {
	h     *handler
	spans *tracetest.InMemoryExporter
	logs  *bytes.Buffer
}

// newFixture batches spans for an hour, so a span is only in the exporter
// after Handle returns if Handle force-flushed it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil)).With("service", "sentiment-test")
	return &fixture{h: newHandler(model.Embedded(), tp, logger), spans: exp, logs: logs}
}

func invocationContext(header string) context.Context {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: testRequestID})
	//nolint:staticcheck // aws-lambda-go's own key for the trace header.
	return context.WithValue(ctx, "x-amzn-trace-id", header)
}

// invoke runs one invocation and returns what it emitted, clearing both sinks.
func (f *fixture) invoke(t *testing.T, ctx context.Context, req Request) (Response, error, []sdktrace.ReadOnlySpan, []map[string]any) {
	t.Helper()
	resp, err := f.h.Handle(ctx, req)
	stubs := f.spans.GetSpans()
	f.spans.Reset()
	spans := stubs.Snapshots()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		lines = append(lines, m)
	}
	f.logs.Reset()
	return resp, err, spans, lines
}

func spanNamed(t *testing.T, spans []sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.Name() == name {
			return s
		}
	}
	require.Failf(t, "span not found", "no %q span among %d", name, len(spans))
	return nil
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func events(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l["event"].(string))
	}
	return out
}

func TestHandleSuccessTraceAndLogs(t *testing.T) {
	f := newFixture(t)
	text := "The camera is excellent. Highly recommended."
	resp, err, spans, lines := f.invoke(t, invocationContext(xrayHeader), Request{Text: text})
	require.NoError(t, err)
	assert.Equal(t, model.LabelPositive, resp.Label)

	// The inference span joins the invocation's trace under its X-Ray parent.
	require.Len(t, spans, 2)
	inf := spanNamed(t, spans, "inference")
	assert.Equal(t, trace.SpanKindInternal, inf.SpanKind())
	assert.Equal(t, wantTraceID, inf.SpanContext().TraceID().String())
	assert.Equal(t, wantParentID, inf.Parent().SpanID().String())
	assert.True(t, inf.Parent().IsRemote())
	assert.Equal(t, codes.Unset, inf.Status().Code)
	a := attrs(inf)
	assert.Equal(t, "bow-v1", a["model.name"].AsString())
	assert.Equal(t, int64(len(text)), a["inference.input_length"].AsInt64())
	assert.Equal(t, "positive", a["inference.label"].AsString())
	assert.Equal(t, resp.Score, a["inference.score"].AsFloat64())
	assert.Equal(t, int64(len(model.Features(text))), a["inference.feature_lookups"].AsInt64())
	assert.True(t, a["faas.coldstart"].AsBool())
	assert.Equal(t, testRequestID, a["faas.invocation_id"].AsString())

	load := spanNamed(t, spans, "model_load")
	assert.Equal(t, inf.SpanContext().SpanID(), load.Parent().SpanID())

	require.Equal(t, []string{"inference_start", "model_load", "inference_success"}, events(lines))
	for _, l := range lines {
		assert.Equal(t, wantTraceID, l["trace_id"])
		assert.Equal(t, inf.SpanContext().SpanID().String(), l["span_id"])
		assert.Regexp(t, `^[0-9a-f]{16}$`, l["span_id"])
		assert.Equal(t, "sentiment-test", l["service"])
		assert.Equal(t, "bow-v1", l["model_name"])
		assert.Equal(t, float64(len(text)), l["input_length"])
		assert.Equal(t, testRequestID, l["request_id"])
		assert.Equal(t, true, l["cold_start"])
		assert.Contains(t, l, "time")
	}
	success := lines[2]
	assert.Equal(t, "INFO", success["level"])
	assert.Equal(t, "positive", success["label"])
	assert.Equal(t, resp.Score, success["score"])
	assert.IsType(t, float64(0), success["duration_ms"])
	assert.GreaterOrEqual(t, success["duration_ms"].(float64), lines[1]["duration_ms"].(float64))
}

func TestHandleClassifiesClearSentences(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ text, label string }{
		{"This phone is fantastic, I love it.", model.LabelPositive},
		{"The acting was outstanding and the ending made me smile.", model.LabelPositive},
		{"Really good value, works great, I would buy it again.", model.LabelPositive},
		{"The charger stopped working after a week. I want a refund.", model.LabelNegative},
		{"Terrible plot and dreadful acting, it put me to sleep.", model.LabelNegative},
		{"Cheap, flimsy and useless. Do not buy it.", model.LabelNegative},
	}
	for _, tt := range tests {
		resp, err := f.h.Handle(invocationContext(xrayHeader), Request{Text: tt.text})
		require.NoError(t, err)
		assert.Equal(t, tt.label, resp.Label, tt.text)
		assert.Greater(t, resp.Score, 0.5, tt.text)
		assert.LessOrEqual(t, resp.Score, 1.0, tt.text)
	}
}

func TestHandleErrors(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		reason  string
		message string
	}{
		{"empty text", Request{Text: ""}, "empty_text", "text is empty"},
		{"blank text", Request{Text: " \n\t "}, "empty_text", "text is empty"},
		{"unknown model", Request{Text: "great", Model: "gpt-9"}, "unknown_model", `unknown model "gpt-9" (known: bow-v1)`},
		{"negative repeat", Request{Text: "great", Repeat: -1}, "invalid_repeat", "repeat -1 is outside [0, 1000000]"},
		{"huge repeat", Request{Text: "great", Repeat: MaxRepeat + 1}, "invalid_repeat", "repeat 1000001 is outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			resp, err, spans, lines := f.invoke(t, invocationContext(xrayHeader), tt.req)
			var ie *InferenceError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.reason, ie.Reason)
			assert.ErrorContains(t, err, tt.message)
			assert.Equal(t, Response{}, resp)

			inf := spanNamed(t, spans, "inference")
			assert.Equal(t, codes.Error, inf.Status().Code)
			assert.Equal(t, err.Error(), inf.Status().Description)
			assert.Equal(t, tt.reason, attrs(inf)["error.type"].AsString())
			require.Len(t, inf.Events(), 1)
			assert.Equal(t, "exception", inf.Events()[0].Name)
			assert.NotContains(t, attrs(inf), attribute.Key("inference.label"))

			last := lines[len(lines)-1]
			assert.Equal(t, "inference_failure", last["event"])
			assert.Equal(t, "ERROR", last["level"])
			assert.Equal(t, tt.reason, last["error_type"])
			assert.Equal(t, err.Error(), last["error"])
			assert.Equal(t, wantTraceID, last["trace_id"])
			assert.Contains(t, last, "duration_ms")
			assert.NotContains(t, last, "label")
		})
	}
}

func TestHandleSlowPathDoesMoreWork(t *testing.T) {
	f := newFixture(t)
	text := "The soundtrack is superb but the ending was boring."
	fast, err, fastSpans, _ := f.invoke(t, invocationContext(xrayHeader), Request{Text: text})
	require.NoError(t, err)
	slow, err, slowSpans, slowLines := f.invoke(t, invocationContext(xrayHeader), Request{Text: text, Repeat: 5000})
	require.NoError(t, err)

	assert.Equal(t, fast, slow, "repeating the scoring does not change the result")
	fastLookups := attrs(spanNamed(t, fastSpans, "inference"))["inference.feature_lookups"].AsInt64()
	slowLookups := attrs(spanNamed(t, slowSpans, "inference"))["inference.feature_lookups"].AsInt64()
	assert.Equal(t, 5000*fastLookups, slowLookups)
	assert.Equal(t, float64(slowLookups), slowLines[len(slowLines)-1]["feature_lookups"])
}

func TestHandleColdStartOnlyOnFirstInvocation(t *testing.T) {
	f := newFixture(t)
	var cold []bool
	for i := range 3 {
		_, err, spans, lines := f.invoke(t, invocationContext(xrayHeader), Request{Text: "Great job."})
		require.NoError(t, err)
		cold = append(cold, attrs(spanNamed(t, spans, "inference"))["faas.coldstart"].AsBool())
		if i == 0 {
			assert.Len(t, spans, 2)
			assert.Contains(t, events(lines), "model_load")
		} else {
			assert.Len(t, spans, 1)
			assert.NotContains(t, events(lines), "model_load")
		}
		assert.Equal(t, i == 0, lines[0]["cold_start"])
	}
	assert.Equal(t, []bool{true, false, false}, cold)
}

func TestHandleStopsAtDeadline(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithDeadline(invocationContext(xrayHeader), time.Unix(0, 0))
	defer cancel()
	_, err, spans, lines := f.invoke(t, ctx, Request{Text: "Great job.", Repeat: MaxRepeat})
	var ie *InferenceError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "deadline_exceeded", ie.Reason)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// The span is still exported: the flush does not use the expired context.
	assert.Equal(t, codes.Error, spanNamed(t, spans, "inference").Status().Code)
	assert.Equal(t, "inference_failure", lines[len(lines)-1]["event"])
}

func TestHandleTraceContextSources(t *testing.T) {
	tests := []struct {
		name       string
		ctxHeader  string
		envHeader  string
		wantTrace  string
		wantParent string
		sampled    bool
	}{
		{"context", xrayHeader, "", wantTraceID, wantParentID, true},
		{"environment", "", xrayHeader, wantTraceID, wantParentID, true},
		{"context wins", xrayHeader, "Root=1-00000001-000000000000000000000001;Parent=0000000000000001;Sampled=1", wantTraceID, wantParentID, true},
		{"not sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", "", wantTraceID, "", false},
		{"none", "", "", "", "", true},
		{"malformed", "Root=garbage", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("_X_AMZN_TRACE_ID", tt.envHeader)
			f := newFixture(t)
			_, err, spans, lines := f.invoke(t, invocationContext(tt.ctxHeader), Request{Text: "Great job."})
			require.NoError(t, err)
			logged := lines[0]["trace_id"].(string)
			assert.Regexp(t, `^[0-9a-f]{32}$`, logged)
			assert.NotEqual(t, strings.Repeat("0", 32), logged)
			if tt.wantTrace != "" {
				assert.Equal(t, tt.wantTrace, logged)
			}
			if !tt.sampled {
				assert.Empty(t, spans, "an unsampled invocation exports no span but still logs its trace id")
				return
			}
			inf := spanNamed(t, spans, "inference")
			assert.Equal(t, logged, inf.SpanContext().TraceID().String())
			if tt.wantParent == "" {
				assert.False(t, inf.Parent().IsValid())
			} else {
				assert.Equal(t, tt.wantParent, inf.Parent().SpanID().String())
			}
		})
	}
}
