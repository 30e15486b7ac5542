package translator

import (
	"encoding/hex"
	"io"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceContext is what an X-Ray tracing header says about an invocation.
type traceContext struct {
	traceID pcommon.TraceID
	parent  pcommon.SpanID
	sampled bool
	ok      bool
}

// w3cSampled is the W3C trace flags' sampled bit, the low byte of a span's Flags.
const w3cSampled = 0x01

// parseXRayHeader reads "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
// The 32-hex trace id is the root without its "1-" version and the dash.
func parseXRayHeader(h string) traceContext {
	var tc traceContext
	for part := range strings.SplitSeq(h, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		switch k {
		case "Root":
			if len(v) == 35 && v[:2] == "1-" && v[10] == '-' {
				if _, err := hex.Decode(tc.traceID[:4], []byte(v[2:10])); err != nil {
					continue
				}
				if _, err := hex.Decode(tc.traceID[4:], []byte(v[11:])); err != nil {
					continue
				}
				tc.ok = !tc.traceID.IsEmpty()
			}
		case "Parent":
			tc.parent, _ = parseSpanID(v)
		case "Sampled":
			tc.sampled = v == "1"
		}
	}
	return tc
}

func parseSpanID(s string) (pcommon.SpanID, bool) {
	var id pcommon.SpanID
	if len(s) != 16 {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return pcommon.SpanID{}, false
	}
	return id, !id.IsEmpty()
}

// newTraceID and newSpanID draw from Options.Rand (crypto/rand unless a
// test makes ids deterministic); a short read leaves zeros, never panics.
func (t *Translator) newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	_, _ = io.ReadFull(t.opts.Rand, id[:])
	return id
}

func (t *Translator) newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	_, _ = io.ReadFull(t.opts.Rand, id[:])
	return id
}
