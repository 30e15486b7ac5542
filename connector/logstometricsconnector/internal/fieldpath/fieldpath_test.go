package fieldpath

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestGet(t *testing.T) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "fn")
	lr := plog.NewLogRecord()
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"d":      12,
		"nested": map[string]any{"x": "1.5"},
		`q"k`:    "quoted",
	}))
	lr.Attributes().PutEmpty("empty")
	require.NoError(t, lr.Body().FromRaw(map[string]any{"latency": map[string]any{"init_ms": 250}, "msg": "ready"}))

	tests := []struct {
		path string
		want any // nil: not found
	}{
		{`attributes["d"]`, int64(12)},
		{`log.attributes["d"]`, int64(12)},
		{`attributes["nested"]["x"]`, "1.5"},
		{`attributes["q\"k"]`, "quoted"},
		{`attributes["missing"]`, nil},
		{`attributes["empty"]`, nil},
		{`attributes["d"]["x"]`, nil},
		{`resource.attributes["service.name"]`, "fn"},
		{`body["latency"]["init_ms"]`, int64(250)},
		{`log.body["msg"]`, "ready"},
		{`body["missing"]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := Parse(tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.path, p.String())
			v, ok := p.Get(res, lr)
			if tt.want == nil {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, v.AsRaw())
		})
	}

	// A whole body, and a body that is not a map.
	p, err := Parse("body")
	require.NoError(t, err)
	lr.Body().SetStr("42")
	v, ok := p.Get(res, lr)
	require.True(t, ok)
	assert.Equal(t, "42", v.Str())
	p, err = Parse(`body["msg"]`)
	require.NoError(t, err)
	_, ok = p.Get(res, lr)
	assert.False(t, ok)
}

func TestForAttribute(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Attributes().PutStr(`a"b`, "v")
	p := ForAttribute(`a"b`)
	v, ok := p.Get(pcommon.NewResource(), lr)
	require.True(t, ok)
	assert.Equal(t, "v", v.Str())
	reparsed, err := Parse(p.String())
	require.NoError(t, err)
	assert.Equal(t, p, reparsed)
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{"", "duration_ms", `attributes`, `resource.attributes`, `attributes[duration]`, `attributes["a"`, `attributes["a"].b`, `span.attributes["a"]`} {
		_, err := Parse(text)
		assert.Error(t, err, text)
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		in   any
		want float64
		ok   bool
	}{
		{int64(3), 3, true},
		{2.5, 2.5, true},
		{" 12.5 ", 12.5, true},
		{"1e3", 1000, true},
		{"-4", -4, true},
		{"fast", 0, false},
		{"", 0, false},
		{"NaN", 0, false},
		{"+Inf", 0, false},
		{true, 0, false},
		{map[string]any{}, 0, false},
	}
	for _, tt := range tests {
		v := pcommon.NewValueEmpty()
		require.NoError(t, v.FromRaw(tt.in))
		got, err := Number(v)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrNotNumeric, "%v", tt.in)
			continue
		}
		require.NoError(t, err, "%v", tt.in)
		assert.Equal(t, tt.want, got)
	}
}
