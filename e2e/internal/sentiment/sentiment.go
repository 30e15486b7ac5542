// Package sentiment is the whole-binary tests' function: per invocation it
// writes JSON log lines carrying the trace id of its X-Ray header, exports one
// span over OTLP/HTTP before responding (as an SDK flushing at the end of the
// handler), and fails when the payload is "fail". The same handler runs
// in-process under the emulator and as a bootstrap process under AWS's RIE.
package sentiment

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// SpanName names the function's own span.
const SpanName = "inference"

// Handler exports to the OTLP/HTTP endpoint (http://host:port).
func Handler(endpoint string) lambdaemu.Handler {
	return func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		traceID, parent := XRay(inv.TraceHeader)
		logLine(inv, "inference_start", traceID)
		start := time.Now()
		if err := export(ctx, endpoint, traceID, parent, inv.RequestID, start); err != nil {
			return nil, err
		}
		logLine(inv, "inference_done", traceID)
		if strings.Trim(string(inv.Payload), `"`) == "fail" {
			return nil, errors.New("bad input")
		}
		return []byte(`"ok"`), nil
	}
}

func logLine(inv lambdaemu.Invocation, event string, traceID pcommon.TraceID) {
	b, _ := json.Marshal(map[string]string{"level": "INFO", "msg": event, "requestId": inv.RequestID, "trace_id": traceID.String()})
	inv.Log(string(b))
}

// XRay reads the trace id and parent of an X-Ray tracing header.
func XRay(header string) (pcommon.TraceID, pcommon.SpanID) {
	var traceID pcommon.TraceID
	var parent pcommon.SpanID
	for part := range strings.SplitSeq(header, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "Root":
			b, _ := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(v, "1-"), "-", ""))
			copy(traceID[:], b)
		case "Parent":
			b, _ := hex.DecodeString(v)
			copy(parent[:], b)
		}
	}
	return traceID, parent
}

func export(ctx context.Context, endpoint string, traceID pcommon.TraceID, parent pcommon.SpanID, requestID string, start time.Time) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "sentiment")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceID)
	s.SetParentSpanID(parent)
	s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	s.SetName(SpanName)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	s.Attributes().PutStr("faas.invocation_id", requestID)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
