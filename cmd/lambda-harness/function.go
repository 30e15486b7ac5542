package main

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

// sampleFunction is the demo's function: it logs JSON lines carrying the
// invocation's trace id, optionally exports one span over OTLP/HTTP (as an
// instrumented function's SDK would at the end of the handler), and fails or
// dawdles when the payload asks.
type sampleFunction struct {
	otlpEndpoint string // host:port; empty: no export
	client       *http.Client
	slow         time.Duration
}

type samplePayload struct {
	Action string `json:"action"` // "", "fail" or "slow"
}

func (f *sampleFunction) handle(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
	start := time.Now()
	var p samplePayload
	_ = json.Unmarshal(inv.Payload, &p)
	traceID, parent := xrayToW3C(inv.TraceHeader)
	spanID := newSpanID()
	logf := func(level, msg string) {
		line, _ := json.Marshal(map[string]string{
			"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "level": level, "message": msg,
			"requestId": inv.RequestID, "trace_id": traceID, "span_id": hex.EncodeToString(spanID[:]),
		})
		inv.Log(string(line))
	}
	logf("INFO", "handling "+orDefault(p.Action, "normal")+" request")
	var err error
	switch p.Action {
	case "slow":
		select {
		case <-time.After(f.slow):
		case <-ctx.Done():
		}
		logf("WARN", "slow request done")
	case "fail":
		err = errors.New("sample failure requested by the payload")
		logf("ERROR", err.Error())
	}
	if f.otlpEndpoint != "" && traceID != "" {
		if xerr := f.exportSpan(ctx, inv, traceID, parent, spanID, start, err); xerr != nil {
			logf("WARN", "span export failed: "+xerr.Error())
		}
	}
	if err != nil {
		return nil, err
	}
	return []byte(`{"ok":true}`), nil
}

func (f *sampleFunction) exportSpan(ctx context.Context, inv lambdaemu.Invocation, traceID, parent string, spanID pcommon.SpanID, start time.Time, handlerErr error) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "harness-sample-function")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("sample-function work")
	span.SetKind(ptrace.SpanKindInternal)
	var tid pcommon.TraceID
	_, _ = hex.Decode(tid[:], []byte(traceID))
	span.SetTraceID(tid)
	span.SetSpanID(spanID)
	if parent != "" {
		var pid pcommon.SpanID
		_, _ = hex.Decode(pid[:], []byte(parent))
		span.SetParentSpanID(pid)
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	span.Attributes().PutStr("faas.invocation_id", inv.RequestID)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.otlpEndpoint+"/v1/traces", bytes.NewReader(body))
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

// xrayToW3C maps "Root=1-<8 hex>-<24 hex>;Parent=<16 hex>" to a 32-hex trace id and the parent span id.
func xrayToW3C(header string) (traceID, parent string) {
	for part := range strings.SplitSeq(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			if f := strings.Split(v, "-"); len(f) == 3 && len(f[1])+len(f[2]) == 32 {
				traceID = f[1] + f[2]
			}
		case "Parent":
			parent = v
		}
	}
	return traceID, parent
}

func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	_, _ = rand.Read(id[:])
	return id
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
