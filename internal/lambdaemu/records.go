package lambdaemu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// functionInfo is what the platform records say about the function.
type functionInfo struct {
	name, version, region, account string
	memoryMB, memoryUsedMB         int
	initType, runtimeVersion       string
	logFormat                      LogFormat
}

func (f functionInfo) arn() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", f.region, f.account, f.name)
}

// tracing is the tracing object of platform records and INVOKE events.
type tracing struct {
	SpanID string `json:"spanId,omitempty"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

type recordSpan struct {
	Name       string  `json:"name"`
	Start      string  `json:"start"`
	DurationMs float64 `json:"durationMs"`
}

// invocationRecord holds what the platform records of one request are built from.
type invocationRecord struct {
	requestID    string
	clientTrace  string // the caller's X-Ray header (tracing.value)
	spanID       string // the invocation's span (tracing.spanId, Parent of the runtime's header)
	start        time.Time
	respondStart time.Time
	respondEnd   time.Time
	status       string
	errorType    string
	producedB    int
	initDuration time.Duration // cold start only
}

func (inv *invocationRecord) tracing() *tracing {
	if inv.clientTrace == "" {
		return nil
	}
	return &tracing{SpanID: inv.spanID, Type: "X-Amzn-Trace-Id", Value: inv.clientTrace}
}

// runtimeTraceHeader is the header the runtime and the extensions see: the caller's
// root, with the invocation's span as parent.
func (inv *invocationRecord) runtimeTraceHeader() string {
	if inv.clientTrace == "" {
		return ""
	}
	h := parseTraceHeader(inv.clientTrace)
	sampled := h["Sampled"]
	if sampled == "" {
		sampled = "1"
	}
	return fmt.Sprintf("Root=%s;Parent=%s;Sampled=%s", h["Root"], inv.spanID, sampled)
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

func (f functionInfo) emitInitStart(h *telemetryHub, at time.Time, phase string) {
	h.emit(at, "platform.initStart", map[string]any{
		"initializationType": f.initType, "phase": phase,
		"runtimeVersion": f.runtimeVersion, "runtimeVersionArn": "arn:aws:lambda:" + f.region + "::runtime:" + f.runtimeVersion,
		"functionName": f.name, "functionVersion": f.version,
	})
}

func (f functionInfo) emitInitRuntimeDone(h *telemetryHub, at time.Time, phase, status, errorType string, start time.Time) {
	rec := map[string]any{
		"initializationType": f.initType, "phase": phase, "status": status,
		"spans": []recordSpan{{Name: "runtimeInit", Start: formatTime(start), DurationMs: ms(at.Sub(start))}},
	}
	if errorType != "" {
		rec["errorType"] = errorType
	}
	h.emit(at, "platform.initRuntimeDone", rec)
}

func (f functionInfo) emitInitReport(h *telemetryHub, at time.Time, phase, status, errorType string, d time.Duration) {
	rec := map[string]any{
		"initializationType": f.initType, "phase": phase, "status": status,
		"metrics": map[string]any{"durationMs": ms(d)},
	}
	if errorType != "" {
		rec["errorType"] = errorType
	}
	h.emit(at, "platform.initReport", rec)
}

func (f functionInfo) emitStart(h *telemetryHub, inv *invocationRecord) {
	rec := map[string]any{"requestId": inv.requestID, "version": f.version}
	if t := inv.tracing(); t != nil {
		rec["tracing"] = t
	}
	h.emit(inv.start, "platform.start", rec)
}

func (f functionInfo) emitRuntimeDone(h *telemetryHub, at time.Time, inv *invocationRecord) {
	rec := map[string]any{
		"requestId": inv.requestID, "status": inv.status,
		"metrics": map[string]any{"durationMs": ms(at.Sub(inv.start)), "producedBytes": inv.producedB},
	}
	if !inv.respondStart.IsZero() {
		rec["spans"] = []recordSpan{
			{Name: "responseLatency", Start: formatTime(inv.start), DurationMs: ms(inv.respondStart.Sub(inv.start))},
			{Name: "responseDuration", Start: formatTime(inv.respondStart), DurationMs: ms(inv.respondEnd.Sub(inv.respondStart))},
		}
	}
	if inv.errorType != "" {
		rec["errorType"] = inv.errorType
	}
	if t := inv.tracing(); t != nil {
		rec["tracing"] = t
	}
	h.emit(at, "platform.runtimeDone", rec)
}

func (f functionInfo) emitReport(h *telemetryHub, at time.Time, inv *invocationRecord) {
	d := at.Sub(inv.start)
	metrics := map[string]any{
		"durationMs": ms(d), "billedDurationMs": math.Ceil(ms(d)),
		"memorySizeMB": f.memoryMB, "maxMemoryUsedMB": f.memoryUsedMB,
	}
	if inv.initDuration > 0 {
		metrics["initDurationMs"] = ms(inv.initDuration)
	}
	rec := map[string]any{"requestId": inv.requestID, "status": inv.status, "metrics": metrics}
	if inv.errorType != "" {
		rec["errorType"] = inv.errorType
	}
	if t := inv.tracing(); t != nil {
		rec["tracing"] = t
	}
	h.emit(at, "platform.report", rec)
}

// emitLog turns one output line into a function or extension record.
func (f functionInfo) emitLog(h *telemetryHub, at time.Time, typ, requestID, line string) {
	if f.logFormat != LogFormatJSON {
		h.emit(at, typ, line)
		return
	}
	var obj map[string]any
	if json.Unmarshal([]byte(line), &obj) == nil && obj != nil {
		if _, ok := obj["requestId"]; !ok && requestID != "" {
			obj["requestId"] = requestID
		}
		h.emit(at, typ, obj)
		return
	}
	rec := map[string]any{"timestamp": formatTime(at), "level": "INFO", "message": line}
	if requestID != "" {
		rec["requestId"] = requestID
	}
	h.emit(at, typ, rec)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewTraceHeader returns a sampled X-Ray header with a fresh root and parent,
// as an upstream caller would send.
func NewTraceHeader() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=1", time.Now().Unix(), randomHex(12), randomHex(8))
}

func parseTraceHeader(h string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(h, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			out[k] = v
		}
	}
	return out
}
