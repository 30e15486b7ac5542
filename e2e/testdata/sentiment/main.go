// Command sentiment is the whole-binary tests' function, run as a Lambda
// runtime (bootstrap): per invocation it writes JSON log lines carrying the
// trace id of its X-Ray header, exports one span over OTLP/HTTP to
// $FUNCTION_OTLP_ENDPOINT before responding (as an SDK flushing at the end of
// the handler), and fails when the payload is "fail".
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

func main() {
	endpoint := os.Getenv("FUNCTION_OTLP_ENDPOINT")
	handler := func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		traceID, parent := xray(inv.TraceHeader)
		logLine("inference_start", inv.RequestID, traceID)
		start := time.Now()
		if err := export(ctx, endpoint, traceID, parent, inv.RequestID, start); err != nil {
			return nil, err
		}
		logLine("inference_done", inv.RequestID, traceID)
		if string(inv.Payload) == `"fail"` {
			return nil, errors.New("bad input")
		}
		return []byte(`"ok"`), nil
	}
	if err := lambdaemu.ServeRuntime(context.Background(), os.Getenv("AWS_LAMBDA_RUNTIME_API"), handler, func(_, line string) { fmt.Println(line) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func logLine(event, requestID string, traceID pcommon.TraceID) {
	b, _ := json.Marshal(map[string]string{"level": "INFO", "msg": event, "requestId": requestID, "trace_id": traceID.String()})
	fmt.Println(string(b))
}

func xray(header string) (pcommon.TraceID, pcommon.SpanID) {
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
	s.SetName("inference")
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
