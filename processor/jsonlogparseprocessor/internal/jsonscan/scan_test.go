package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanMatchesEncodingJSONValidity(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":[1,-0.5e+3,true,false,null,"x"]}`, ` {"a" : {"b":{}} } `, `"s"`, `0`, `-0`,
		`{"a":1,}`, `{"a"}`, `[1 2]`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `NaN`, `{"a":"\x"}`, `{"a":"\u12"}`,
		"{\"a\":\"\x01\"}", `{"a":1}}`, `{"a":1} {}`, `tru`, `nul`, `{'a':1}`, `[`, `{"a":`, "\xff", `{"\ud800":"\udc00"}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		var sc Scanner
		assert.Equal(t, json.Valid([]byte(in)), sc.Scan(in) == nil, "%.40q", in)
	}
}

func TestTokens(t *testing.T) {
	var sc Scanner
	in := `{"a":{"b":1,"c":[true,"x\n"]},"d":null}`
	require.NoError(t, sc.Scan(in))
	toks := sc.Tokens
	require.Len(t, toks, 7)
	root, a, c, d := toks[0], toks[1], toks[3], toks[6]
	assert.Equal(t, Object, root.Kind)
	assert.Equal(t, int32(2), root.Count)
	assert.Equal(t, int32(7), root.Next)
	assert.Equal(t, "a", in[a.KeyStart:a.KeyEnd])
	assert.Equal(t, `{"b":1,"c":[true,"x\n"]}`, in[a.Start:a.End])
	assert.Equal(t, int32(6), a.Next, "a's next sibling is d")
	assert.Equal(t, Array, c.Kind)
	assert.Equal(t, int32(3), c.Depth)
	assert.True(t, toks[5].Raw, "escaped string needs Unquote")
	assert.Equal(t, "x\n", string(Unquote(nil, in[toks[5].Start:toks[5].End])))
	assert.Equal(t, Null, d.Kind)
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		kind NumberKind
		i    int64
		f    float64
	}{
		{"42", Int, 42, 0},
		{"-17", Int, -17, 0},
		{"-0", Int, 0, 0},
		{"123456789012345678", Int, 123456789012345678, 0},
		{"1234567890123456789", Int, 1234567890123456789, 0},
		{"-9223372036854775808", Int, -9223372036854775808, 0},
		{"9223372036854775808", Float, 0, 9223372036854775808},
		{"1.5", Float, 0, 1.5},
		{"1e3", Float, 0, 1000},
		{"1e400", Text, 0, 0},
		{"-1e400", Text, 0, 0},
		{"1e-400", Float, 0, 0},
	}
	for _, tt := range tests {
		kind, i, f := ParseNumber(tt.in)
		assert.Equal(t, tt.kind, kind, tt.in)
		assert.Equal(t, tt.i, i, tt.in)
		assert.Equal(t, tt.f, f, tt.in)
	}
}

// FuzzScan checks that Scan accepts exactly what encoding/json accepts and
// that Unquote decodes strings as encoding/json does.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"a":"\ud83d\ude00\ud800"}`, `[1,2.5e-3,"\u00e9"]`, "\"\xff\xfe\"", `{"a":{"b":[null]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var sc Scanner
		err := sc.Scan(in)
		require.Equal(t, json.Valid([]byte(in)), err == nil)
		if err != nil {
			return
		}
		for _, tok := range sc.Tokens {
			if tok.Kind != String {
				continue
			}
			var want string
			require.NoError(t, json.Unmarshal([]byte(in[tok.Start-1:tok.End+1]), &want))
			require.Equal(t, want, string(Unquote(nil, in[tok.Start:tok.End])))
		}
	})
}

// TestSpecialBytesAtEveryOffset covers the eight-bytes-at-a-time path of
// string scanning: a special byte at each offset of a long plain run.
func TestSpecialBytesAtEveryOffset(t *testing.T) {
	plainRun := strings.Repeat("abcdefgh", 4)
	for pos := 0; pos <= len(plainRun); pos++ {
		for _, special := range []string{`"`, `\n`, `\u00e9`, `\`, "\x01", "\x1f", "\x7f", "\x80", "é", " "} {
			in := `"` + plainRun[:pos] + special + plainRun[pos:] + `"`
			var sc Scanner
			err := sc.Scan(in)
			require.Equal(t, json.Valid([]byte(in)), err == nil, "%q", in)
			if err != nil {
				continue
			}
			var want string
			require.NoError(t, json.Unmarshal([]byte(in), &want))
			require.Equal(t, want, string(Unquote(nil, in[1:len(in)-1])), "%q", in)
		}
	}
}
