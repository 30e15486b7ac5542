// Package libcompare measures jsonscan against the zero-allocation JSON
// libraries it was chosen over, on the processor's corpus. It is a separate
// module so those libraries stay out of the distribution's go.mod:
//
//	cd processor/jsonlogparseprocessor/internal/jsonscan/libcompare && go test -run '^$' -bench . -count 3
package libcompare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/valyala/fastjson"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"
)

// corpusObjects is the JSON object of every well-formed corpus line (after
// any runtime prefix), as the processor would scan it.
func corpusObjects(b *testing.B) []string {
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "corpus", "*.txt"))
	require.NoError(b, err)
	var out []string
	for _, p := range paths {
		if filepath.Base(p) == "broken.txt" {
			continue
		}
		data, err := os.ReadFile(p)
		require.NoError(b, err)
		for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
			if i := strings.IndexByte(l, '{'); i >= 0 && jsonscanValid(l[i:]) {
				out = append(out, l[i:])
			}
		}
	}
	require.NotEmpty(b, out)
	return out
}

func jsonscanValid(s string) bool {
	var sc jsonscan.Scanner
	return sc.Scan(s) == nil
}

// walkFastjson touches every key and decoded value, as a mapper would.
func walkFastjson(v *fastjson.Value) int {
	n := 0
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(k []byte, c *fastjson.Value) { n += len(k) + walkFastjson(c) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, c := range a {
			n += walkFastjson(c)
		}
	case fastjson.TypeString:
		n += len(v.GetStringBytes())
	default:
		n++
	}
	return n
}

func walkGjson(r gjson.Result) int {
	n := 0
	if r.IsObject() || r.IsArray() {
		r.ForEach(func(k, v gjson.Result) bool { n += len(k.Str) + walkGjson(v); return true })
		return n
	}
	return len(r.Str) + 1
}

func BenchmarkLibs(b *testing.B) {
	objs := corpusObjects(b)
	run := func(b *testing.B, parse func(string) bool) {
		b.ReportAllocs()
		for b.Loop() {
			for _, o := range objs {
				if !parse(o) {
					b.Fatal(o)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/record")
	}
	b.Run("jsonscan_validating", func(b *testing.B) {
		var sc jsonscan.Scanner
		run(b, func(s string) bool { return sc.Scan(s) == nil })
	})
	b.Run("fastjson_parse_walk", func(b *testing.B) {
		var p fastjson.Parser
		run(b, func(s string) bool {
			v, err := p.Parse(s)
			return err == nil && walkFastjson(v) > 0
		})
	})
	b.Run("fastjson_validate_parse_walk", func(b *testing.B) {
		var p fastjson.Parser
		run(b, func(s string) bool {
			if fastjson.Validate(s) != nil {
				return false
			}
			v, err := p.Parse(s)
			return err == nil && walkFastjson(v) > 0
		})
	})
	b.Run("gjson_valid_foreach", func(b *testing.B) {
		run(b, func(s string) bool { return gjson.Valid(s) && walkGjson(gjson.Parse(s)) > 0 })
	})
}
