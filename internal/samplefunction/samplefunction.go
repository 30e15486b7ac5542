// Package samplefunction is the small instrumented function that the demo
// harness and the whole-binary tests run as a Lambda runtime: per invocation
// it writes JSON log lines carrying the trace id of its X-Ray header (the
// fields the logstometrics seed rule reads: event, duration_ms, model_name,
// label, service), exports its own span over OTLP/HTTP before responding (as
// an SDK flushing at the end of the handler), and fails or dawdles when the
// payload asks: {"action": "fail"} or {"action": "slow"}.
package samplefunction

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// SpanName names the function's own span; ModelName is the model it logs.
const (
	SpanName  = "inference"
	ModelName = "sample-v1"
)

// Function is safe for concurrent use.
type Function struct {
	otlpEndpoint string // http://host:port; empty: no export
	slow         time.Duration
	client       *http.Client
}

// New returns a function exporting to otlpEndpoint whose slow action takes slow.
func New(otlpEndpoint string, slow time.Duration) *Function {
	return &Function{otlpEndpoint: otlpEndpoint, slow: slow, client: &http.Client{Transport: &http.Transport{}}}
}

// Close releases idle connections.
func (f *Function) Close() { f.client.CloseIdleConnections() }

type payload struct {
	Action string `json:"action"`
}

// Handle is a lambdaemu.Handler.
func (f *Function) Handle(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
	start := time.Now()
	var p payload
	_ = json.Unmarshal(inv.Payload, &p) // any payload is a normal request
	traceID, parent := XRay(inv.TraceHeader)
	var spanID pcommon.SpanID
	_, _ = rand.Read(spanID[:])
	logf := func(level, event string, fields map[string]any) {
		line := map[string]any{
			"time": time.Now().UTC().Format(time.RFC3339Nano), "level": level, "message": event, "event": event,
			"requestId": inv.RequestID, "trace_id": traceID.String(), "span_id": spanID.String(),
			"service": "sample-function", "model_name": ModelName,
		}
		for k, v := range fields {
			line[k] = v
		}
		b, _ := json.Marshal(line)
		inv.Log(string(b))
	}
	logf("INFO", "inference_start", nil)
	var err error
	switch p.Action {
	case "slow":
		select {
		case <-time.After(f.slow):
		case <-ctx.Done():
		}
	case "fail":
		err = errors.New("sample failure requested by the payload")
	}
	ms := float64(time.Since(start).Microseconds()) / 1e3
	if err != nil {
		logf("ERROR", "inference_failure", map[string]any{"duration_ms": ms, "error": err.Error()})
	} else {
		logf("INFO", "inference_success", map[string]any{"duration_ms": ms, "label": "positive", "score": 0.9})
	}
	if f.otlpEndpoint != "" && !traceID.IsEmpty() {
		if xerr := f.export(ctx, inv.RequestID, traceID, parent, spanID, start, err); xerr != nil {
			logf("WARN", "span_export_failed", map[string]any{"error": xerr.Error()})
		}
	}
	if err != nil {
		return nil, err
	}
	return []byte(`{"label":"positive","score":0.9}`), nil
}

func (f *Function) export(ctx context.Context, requestID string, traceID pcommon.TraceID, parent, spanID pcommon.SpanID, start time.Time, handlerErr error) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "sample-function")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(SpanName)
	span.SetKind(ptrace.SpanKindInternal)
	span.SetTraceID(traceID)
	span.SetSpanID(spanID)
	span.SetParentSpanID(parent)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	span.Attributes().PutStr("faas.invocation_id", requestID)
	span.Attributes().PutStr("model.name", ModelName)
	if handlerErr != nil {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(handlerErr.Error())
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.otlpEndpoint+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// XRay reads "Root=1-<8 hex>-<24 hex>;Parent=<16 hex>": the 32-hex trace id
// and the parent span id (zero when absent or malformed).
func XRay(header string) (pcommon.TraceID, pcommon.SpanID) {
	var traceID pcommon.TraceID
	var parent pcommon.SpanID
	for part := range strings.SplitSeq(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			if f := strings.Split(v, "-"); len(f) == 3 && len(f[1])+len(f[2]) == 32 {
				if _, err := hex.Decode(traceID[:], []byte(f[1]+f[2])); err != nil {
					traceID = pcommon.TraceID{}
				}
			}
		case "Parent":
			if _, err := hex.Decode(parent[:], []byte(v)); err != nil || len(v) != 16 {
				parent = pcommon.SpanID{}
			}
		}
	}
	return traceID, parent
}
