package jsonlogparseprocessor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"
)

// FuzzParse checks, for any line:
//   - nothing panics, whatever the configuration;
//   - with every mapping and limit off, a line that encoding/json accepts as an
//     object yields exactly its fields and values as attributes (numbers as
//     documented on jsonscan.ParseNumber);
//   - a line that is not a valid JSON object leaves the record unchanged;
//   - a span id only travels with the trace id it came from: when the line's
//     trace replaces the record's (the invocation's), the span id and flags
//     that come out do not depend on the record's.
//
// CI runs it for a bounded time (see README); new findings land in testdata/fuzz.
func FuzzParse(f *testing.F) {
	corpus, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	require.NoError(f, err)
	for _, path := range corpus {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		for line := range strings.SplitSeq(string(data), "\n") {
			f.Add(line)
		}
	}
	plain := newParser(&Config{Severity: SeverityConfig{NumberScheme: schemePino}})
	withDefaults := newParser(defaultConfig())
	sky := defaultConfig()
	sky.SkyWalking.Enabled = true
	skywalking := newParser(sky)

	f.Fuzz(func(t *testing.T, line string) {
		lr := newBodyRecord(line)
		before := plog.NewLogRecord()
		lr.CopyTo(before)
		st := plain.getState()
		got := st.parseRecord(lr)
		plain.putState(st)

		if isJSONObject(line) {
			require.Equal(t, parsed, got)
			want := decodeWithEncodingJSON(t, line)
			require.Equal(t, want, lr.Attributes().AsRaw())
			require.Equal(t, line, lr.Body().Str(), "no body field is configured, so the body stays")
		} else {
			require.NotEqual(t, parsed, got)
			require.NoError(t, plogtest.CompareLogRecord(before, lr))
		}

		for _, p := range []*parser{withDefaults, skywalking} {
			lr := newBodyRecord(line)
			st := p.getState()
			if st.parseRecord(lr) != parsed {
				require.NoError(t, plogtest.CompareLogRecord(before, lr))
			}
			// The same line on two records of the invocation's trace that
			// differ in span id and flags.
			a, b := newBodyRecord(line), newBodyRecord(line)
			setInvocationContext(a)
			b.SetTraceID(invocationTrace)
			b.SetSpanID(pcommon.SpanID{0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x02})
			st.parseRecord(a)
			st.parseRecord(b)
			p.putState(st)
			require.Equal(t, a.TraceID(), b.TraceID())
			if a.TraceID() != invocationTrace {
				require.Equal(t, a.SpanID(), b.SpanID(), "span id of another trace")
				require.Equal(t, a.Flags(), b.Flags(), "flags of another trace")
			}
		}
	})
}

func newBodyRecord(line string) plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetObservedTimestamp(observed)
	lr.Body().SetStr(line)
	return lr
}

func isJSONObject(line string) bool {
	trimmed := bytes.TrimLeft([]byte(line), " \t\r\n")
	return json.Valid([]byte(line)) && len(trimmed) > 0 && trimmed[0] == '{'
}

// decodeWithEncodingJSON is the reference: encoding/json's reading of the
// line, numbers converted by the processor's documented rule.
func decodeWithEncodingJSON(t *testing.T, line string) map[string]any {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return convertNumbers(m).(map[string]any)
}

func convertNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = convertNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = convertNumbers(e)
		}
	case json.Number:
		switch kind, i, f := jsonscan.ParseNumber(v.String()); kind {
		case jsonscan.Int:
			return i
		case jsonscan.Float:
			return f
		default:
			return v.String()
		}
	}
	return v
}
