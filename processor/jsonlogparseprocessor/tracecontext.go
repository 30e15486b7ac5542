package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"encoding/binary"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceValue is what one trace id field carried. Header forms (W3C
// traceparent, X-Ray Root=...;Parent=...) can bring the span id and flags along.
type traceValue struct {
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID
	flags    uint32
	hasSpan  bool
	hasFlags bool
}

// parseTraceValue accepts a trace id in every encoding real loggers write:
// 32 hex digits of any case, an X-Ray id (1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy),
// an X-Ray header (Root=...;Parent=...;Sampled=...), a W3C traceparent and
// Google Cloud's trace resource name (projects/<project>/traces/<32 hex>).
// Anything else, and the all-zero id, is rejected rather than guessed.
func parseTraceValue(s string) (traceValue, bool) {
	var tv traceValue
	switch {
	case len(s) == 32:
		if !decodeHex(tv.traceID[:], s) {
			return tv, false
		}
	case len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-':
		if !decodeXRay(&tv.traceID, s) {
			return tv, false
		}
	case len(s) == 55 && s[2] == '-' && s[35] == '-' && s[52] == '-':
		// version-traceid-spanid-flags; version ff is forbidden.
		var v, f [1]byte
		if !decodeHex(v[:], s[:2]) || v[0] == 0xff || !decodeHex(tv.traceID[:], s[3:35]) ||
			!decodeHex(tv.spanID[:], s[36:52]) || !decodeHex(f[:], s[53:]) || tv.spanID.IsEmpty() {
			return tv, false
		}
		tv.flags, tv.hasSpan, tv.hasFlags = uint32(f[0]), true, true
	case strings.HasPrefix(s, googleTracePrefix):
		project, id, ok := strings.Cut(s[len(googleTracePrefix):], "/traces/")
		if !ok || project == "" || strings.IndexByte(project, '/') >= 0 || !decodeHex(tv.traceID[:], id) {
			return tv, false
		}
	case strings.Contains(s, "Root="):
		if !parseXRayHeader(&tv, s) {
			return tv, false
		}
	default:
		return tv, false
	}
	return tv, !tv.traceID.IsEmpty()
}

// googleTracePrefix starts a Google Cloud trace resource name, the value of
// the logging.googleapis.com/trace field of structured logs.
const googleTracePrefix = "projects/"

// parseDatadogTraceID reads a dd.trace_id: a 128-bit id as 32 hex digits
// (Datadog's 128-bit trace id logging) or a 64-bit one in decimal. A decimal
// id is only the low half of the trace id, so it is returned as low with
// full false: it names a known trace only if that trace's low half matches.
func parseDatadogTraceID(s string) (id pcommon.TraceID, low uint64, full, ok bool) {
	if len(s) == 32 {
		ok = decodeHex(id[:], s) && !id.IsEmpty()
		return id, 0, true, ok
	}
	low, ok = parseDecimalID(s)
	return id, low, false, ok
}

// parseDatadogSpanID reads a dd.span_id: an unsigned 64-bit decimal, the
// span id's 8 bytes read big-endian, as Datadog maps W3C span ids.
func parseDatadogSpanID(s string) (pcommon.SpanID, bool) {
	var id pcommon.SpanID
	v, ok := parseDecimalID(s)
	binary.BigEndian.PutUint64(id[:], v)
	return id, ok
}

// parseDecimalID accepts a non-zero unsigned 64-bit decimal.
func parseDecimalID(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v != 0
}

// decodeXRay turns 1-<8 hex epoch>-<24 hex> into the 32-hex trace id by
// dropping the version and the dash, as AWS maps X-Ray ids to W3C.
func decodeXRay(dst *pcommon.TraceID, s string) bool {
	return len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-' &&
		decodeHex(dst[:4], s[2:10]) && decodeHex(dst[4:], s[11:])
}

func parseXRayHeader(tv *traceValue, s string) bool {
	root := false
	for part := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return false
		}
		switch k {
		case "Root":
			if !decodeXRay(&tv.traceID, v) {
				return false
			}
			root = true
		case "Parent":
			if len(v) != 16 || !decodeHex(tv.spanID[:], v) {
				return false
			}
			tv.hasSpan = !tv.spanID.IsEmpty()
		case "Sampled":
			switch v {
			case "1":
				tv.flags, tv.hasFlags = 1, true
			case "0":
				tv.flags, tv.hasFlags = 0, true
			}
		}
	}
	return root
}

// parseSpanID accepts 16 hex digits of any case, not all zero.
func parseSpanID(s string) (pcommon.SpanID, bool) {
	var id pcommon.SpanID
	ok := len(s) == 16 && decodeHex(id[:], s) && !id.IsEmpty()
	return id, ok
}

// parseFlagsText accepts the hex byte loggers write ("01") and the names of
// .NET's ActivityTraceFlags (Recorded, None), which Serilog's span enricher
// writes.
func parseFlagsText(s string) (uint32, bool) {
	var b [1]byte
	switch {
	case equalFoldASCII("recorded", s):
		return 1, true
	case equalFoldASCII("none", s):
		return 0, true
	case len(s) == 0 || len(s) > 2:
		return 0, false
	}
	if len(s) == 1 {
		s = "0" + s
	}
	if !decodeHex(b[:], s) {
		return 0, false
	}
	return uint32(b[0]), true
}

func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexDigits[s[2*i]], hexDigits[s[2*i+1]]
		if hi < 0 || lo < 0 {
			return false
		}
		dst[i] = byte(hi<<4 | lo)
	}
	return true
}

// hexDigits maps a byte to its hex value, or -1.
var hexDigits = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "0123456789abcdef" {
		t[c] = int8(i)
	}
	for i, c := range "ABCDEF" {
		t[c] = int8(10 + i)
	}
	return t
}()
