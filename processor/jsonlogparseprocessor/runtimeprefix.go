package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// runtimePrefix is what a Lambda runtime's text log prefix carried.
type runtimePrefix struct {
	level, requestID string
	time             pcommon.Timestamp
	// jsonStart is the offset of the JSON object's '{'.
	jsonStart int
}

// parseRuntimePrefix recognises the prefixes the managed runtimes put in
// front of a line logged through their logging facilities:
//
//	Python:  [LEVEL]\t<time>\t<requestId>\t<message>
//	Node.js: <time>\t<requestId>\tLEVEL\t<message>
//
// It only succeeds when the message is (or at least starts as) a JSON object,
// so a plain-text line stays untouched.
func parseRuntimePrefix(s string) (runtimePrefix, bool) {
	f1, rest, ok1 := strings.Cut(s, "\t")
	f2, rest, ok2 := strings.Cut(rest, "\t")
	f3, rest, ok3 := strings.Cut(rest, "\t")
	if !ok1 || !ok2 || !ok3 {
		return runtimePrefix{}, false
	}
	j := 0
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
		j++
	}
	if j >= len(rest) || rest[j] != '{' {
		return runtimePrefix{}, false
	}
	p := runtimePrefix{jsonStart: len(s) - len(rest) + j}
	var timeText string
	switch {
	case len(f1) > 2 && f1[0] == '[' && f1[len(f1)-1] == ']':
		p.level, timeText, p.requestID = f1[1:len(f1)-1], f2, f3
	case len(f1) > 0 && f1[0] >= '0' && f1[0] <= '9':
		timeText, p.requestID, p.level = f1, f2, f3
	default:
		return runtimePrefix{}, false
	}
	var ok bool
	if p.time, ok = parseTimeText(timeText, nil); !ok || p.requestID == "" || strings.ContainsAny(p.requestID, " \n") || !isWord(p.level) {
		return runtimePrefix{}, false
	}
	return p, true
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
