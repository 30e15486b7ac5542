package translator

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/internal/levelword"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// Attribute names on log records.
const (
	attrInvocationID = "faas.invocation_id"
	attrEventType    = "aws.lambda.telemetry.type"
	attrTruncated    = "aws.lambda.log.original_size"
)

func (t *Translator) addLocked(ev *telemetryapi.Event) {
	switch ev.Type {
	case telemetryapi.TypeFunction, telemetryapi.TypeExtension:
		t.appendLog(ev)
		return
	case telemetryapi.TypeStart, telemetryapi.TypeRuntimeDone, telemetryapi.TypeReport,
		telemetryapi.TypeInitStart, telemetryapi.TypeInitRuntimeDone, telemetryapi.TypeInitReport,
		telemetryapi.TypeRestoreStart, telemetryapi.TypeRestoreRuntimeDone, telemetryapi.TypeRestoreReport,
		telemetryapi.TypeLogsDropped:
	default:
		// Unknown and informational types (platform.extension, a type AWS adds
		// later) are kept as logs so nothing is lost.
		t.appendRawLog(ev, "")
		return
	}
	p, err := telemetryapi.DecodePlatform(ev.Record)
	if err != nil {
		t.appendRawLog(ev, "") // undecodable platform record: keep it, do not guess
		return
	}
	switch ev.Type {
	case telemetryapi.TypeStart:
		t.onStart(ev, &p)
	case telemetryapi.TypeRuntimeDone:
		t.onRuntimeDone(ev, &p)
	case telemetryapi.TypeReport:
		t.onReport(ev, &p)
	case telemetryapi.TypeLogsDropped:
		t.metrics.get(MetricDroppedRecords).add(float64(p.DroppedRecords))
		t.metrics.get(MetricDroppedBytes).add(float64(p.DroppedBytes))
	default:
		t.onInitEvent(ev, &p)
	}
	if t.opts.PlatformLogs {
		t.appendRawLog(ev, p.RequestID)
	}
}

// appendRawLog keeps an event as a record whose body is the record's JSON.
func (t *Translator) appendRawLog(ev *telemetryapi.Event, requestID string) {
	lr := t.newRecord(ev, requestID)
	t.setBody(lr, string(ev.Record))
}

// appendLog translates a function or extension record: a string (text log
// format) or an object (JSON log format: Lambda's {timestamp, level,
// requestId, message} around plain output, or the logger's own JSON object).
// An object stays its JSON text, as a text-format JSON line does, so one
// parser (the jsonlogparse processor) structures both with the same rules,
// including the logger's own trace context; here only what Lambda defines is
// read: requestId for attribution, level and timestamp.
func (t *Translator) appendLog(ev *telemetryapi.Event) {
	if !telemetryapi.IsJSONObject(ev.Record) {
		var line string
		if err := json.Unmarshal(ev.Record, &line); err != nil {
			line = string(ev.Record) // not a JSON string: keep the bytes
		}
		t.setBody(t.newRecord(ev, t.prefixRequestID(line)), strings.TrimRight(line, "\r\n"))
		return
	}
	var lambdaFields struct {
		RequestID string `json:"requestId"`
		Level     string `json:"level"`
		Timestamp string `json:"timestamp"`
	}
	_ = json.Unmarshal(ev.Record, &lambdaFields) // a field of another type is not Lambda's: ignore it
	lr := t.newRecord(ev, lambdaFields.RequestID)
	if ts, err := time.Parse(time.RFC3339Nano, lambdaFields.Timestamp); err == nil {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	}
	if lambdaFields.Level != "" {
		lr.SetSeverityText(lambdaFields.Level)
		lr.SetSeverityNumber(levelword.Severity(lambdaFields.Level))
	}
	t.setBody(lr, string(ev.Record))
}

// prefixRequestID finds the request id that Lambda's runtimes put in their
// text log prefixes (Python: "[INFO]\t<time>\t<id>\t...", Node:
// "<time>\t<id>\tINFO\t..."), so a line written late by invocation N is not
// attributed to invocation N+1. Only ids of known invocations count.
func (t *Translator) prefixRequestID(line string) string {
	for range 3 {
		field, rest, found := strings.Cut(line, "\t")
		if !found {
			return ""
		}
		if _, known := t.invocations[field]; known {
			return field
		}
		line = rest
	}
	return ""
}

// newRecord appends a record tied to its invocation: the request id of the
// record, else the invocation that had started at the record's time (init
// output is nobody's), or in a concurrent environment the only one in
// flight (soleInFlight); with that invocation's trace
// context so logs of uninstrumented functions still correlate. The span id is
// fixed by platform.start: a record seen before it gets the trace id only.
func (t *Translator) newRecord(ev *telemetryapi.Event, requestID string) plog.LogRecord {
	lr := t.logRecords.AppendEmpty()
	ts := pcommon.NewTimestampFromTime(ev.Time)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(t.opts.Now()))
	lr.Attributes().PutStr(attrEventType, ev.Type)
	var inv *invocation
	switch {
	case requestID != "":
		inv = t.invocationLocked(requestID)
	case ev.Type != telemetryapi.TypeFunction && ev.Type != telemetryapi.TypeExtension:
	case t.opts.Concurrent:
		inv = t.soleInFlight()
	default:
		inv = t.invocationAt(ev.Time)
	}
	if inv == nil {
		return lr
	}
	lr.Attributes().PutStr(attrInvocationID, inv.requestID)
	switch {
	case inv.started:
		traceID, spanID := inv.ids(t)
		lr.SetTraceID(traceID)
		lr.SetSpanID(spanID)
	case inv.trace.ok:
		lr.SetTraceID(inv.trace.traceID)
	default:
		return lr
	}
	if inv.trace.sampled {
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	}
	return lr
}

// setBody bounds the body to MaxRecordBytes (on a rune boundary) and records
// the original size when it cuts.
func (t *Translator) setBody(lr plog.LogRecord, s string) {
	if limit := t.opts.MaxRecordBytes; limit > 0 && len(s) > limit {
		lr.Attributes().PutInt(attrTruncated, int64(len(s)))
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		t.metrics.get(MetricTruncatedRecords).add(1)
	}
	lr.Body().SetStr(s)
}
