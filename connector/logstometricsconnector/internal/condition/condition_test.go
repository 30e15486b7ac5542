package condition

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
)

// records covers every case the fast grammar distinguishes: missing, empty,
// matching and differing strings, other types with the same text, bools,
// maps, and resource attributes.
func records() plog.Logs {
	ld := plog.NewLogs()
	values := []any{nil, "a", "b", "", "true", true, false, int64(1), 1.5, map[string]any{"a": "a"}, []any{"a"}}
	for _, rv := range values {
		rl := ld.ResourceLogs().AppendEmpty()
		if rv != nil {
			_ = rl.Resource().Attributes().FromRaw(map[string]any{"r": rv})
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for _, v := range values {
			lr := sl.LogRecords().AppendEmpty()
			if v != nil {
				_ = lr.Attributes().FromRaw(map[string]any{"k": v})
			}
		}
		// An attribute that exists with an empty value.
		sl.LogRecords().AppendEmpty().Attributes().PutEmpty("k")
	}
	return ld
}

// The fast path must agree with OTTL on every record, so it is checked
// against OTTL itself rather than against hand-written expectations.
func TestFastPathAgreesWithOTTL(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	conditions := []string{
		`attributes["k"] == "a"`,
		`log.attributes["k"] != "a"`,
		`attributes["k"] == ""`,
		`attributes["k"] == nil`,
		`attributes["k"] != nil`,
		`attributes["k"] == true`,
		`attributes["k"] != false`,
		`resource.attributes["r"] == "a"`,
		`resource.attributes["r"] != nil and attributes["k"] == "b"`,
		`attributes["k"]=="a"   and   resource.attributes["r"]   ==   nil`,
		`attributes["k"] == "a and b"`,
	}
	ld := records()
	for _, text := range conditions {
		t.Run(text, func(t *testing.T) {
			c, err := Compile([]string{text}, ottl.PropagateError, set)
			require.NoError(t, err)
			require.True(t, c.Fast())
			// The reference: the same text through OTTL, forced onto the OTTL
			// route by ORing a condition outside the fast grammar that is
			// always false.
			ref, err := Compile([]string{text, `IsMatch("x", "^y$")`}, ottl.PropagateError, set)
			require.NoError(t, err)
			require.False(t, ref.Fast())
			requireRoutesAgree(t, text, c, ref, ld)
		})
	}
}

func TestSlowPath(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	tests := []struct {
		name       string
		conditions []string
		fast       bool
	}{
		{"none", nil, true},
		{"function", []string{`IsMatch(attributes["k"], "^a")`}, false},
		{"one of two needs OTTL", []string{`attributes["k"] == "a"`, `attributes["k"] == 1`}, false},
		{"or", []string{`attributes["k"] == "a" or attributes["k"] == "b"`}, false},
		{"not", []string{`not (attributes["k"] == "a")`}, false},
		{"nested key", []string{`attributes["k"]["x"] == "a"`}, false},
		{"escaped literal", []string{`attributes["k"] == "a\"b"`}, false},
		{"body", []string{`body == "a"`}, false},
		{"two fast", []string{`attributes["k"] == "a"`, `attributes["k"] == "b"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compile(tt.conditions, ottl.PropagateError, set)
			require.NoError(t, err)
			assert.Equal(t, tt.fast, c.Fast())
		})
	}
}

// Conditions in the list are ORed on both routes.
func TestConditionsAreORed(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	for _, conds := range [][]string{
		{`attributes["k"] == "a"`, `attributes["k"] == "b"`},
		{`IsMatch(attributes["k"], "^a$")`, `attributes["k"] == "b"`},
	} {
		c, err := Compile(conds, ottl.PropagateError, set)
		require.NoError(t, err)
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		for _, v := range []string{"a", "b", "c"} {
			sl.LogRecords().AppendEmpty().Attributes().PutStr("k", v)
		}
		var got []bool
		for _, lr := range sl.LogRecords().All() {
			ok, err := c.Match(context.Background(), rl, sl, lr)
			require.NoError(t, err)
			got = append(got, ok)
		}
		assert.Equal(t, []bool{true, true, false}, got, "%v", conds)
	}
}

func TestCompileErrors(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	for _, cond := range []string{`attributes["k"] === "a"`, `Nope(attributes["k"])`, `spans["x"] == 1`} {
		_, err := Compile([]string{cond}, ottl.PropagateError, set)
		assert.Error(t, err, cond)
	}
}

// Whatever text the fast grammar accepts must mean the same to OTTL: for
// any condition that OTTL compiles and the fast path takes, both routes
// agree on every record of records().
// maxFuzzCondition bounds the fuzzed condition text: at this length OTTL
// parses even the worst nesting in well under a second.
const maxFuzzCondition = 256

func FuzzFastPathAgreesWithOTTL(f *testing.F) {
	for _, seed := range []string{
		`attributes["k"] == "a"`,
		`attributes["k"] != nil and resource.attributes["r"] == true`,
		`log.attributes["k"]=="a"and attributes["k"]!=nil`,
		`attributes["k"] == "a" and`,
		`attributes["k"] == "a" or attributes["k"] == "b"`,
		`attributes["k"] == "a"  `,
		`  attributes["k"] == nil`,
		`attributes["k"] == "a" and not attributes["k"] == "b"`,
	} {
		f.Add(seed)
	}
	set := componenttest.NewNopTelemetrySettings()
	ld := records()
	f.Fuzz(func(t *testing.T, text string) {
		// OTTL's own parser takes time quadratic in nesting (13.5 s for 1,600
		// open parentheses, testdata/fuzz/.../061f1352c33aee8f), which the
		// fuzzer reports as a hang; conditions in a config are far shorter,
		// and the fast path only takes "and"s of plain comparisons.
		if len(text) > maxFuzzCondition {
			t.Skip("longer than any condition the fast path takes")
		}
		c, err := Compile([]string{text}, ottl.PropagateError, set)
		if err != nil || !c.Fast() {
			return
		}
		ref, err := Compile([]string{text, `IsMatch("x", "^y$")`}, ottl.PropagateError, set)
		require.NoError(t, err)
		requireRoutesAgree(t, text, c, ref, ld)
	})
}

// requireRoutesAgree checks that the fast route c and the OTTL route ref of
// the same condition text answer alike on every record of ld.
func requireRoutesAgree(t *testing.T, text string, c, ref *Condition, ld plog.Logs) {
	t.Helper()
	n := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				got, err := c.Match(context.Background(), rl, sl, lr)
				require.NoError(t, err)
				want, err := ref.Match(context.Background(), rl, sl, lr)
				require.NoError(t, err, "OTTL route failed where the fast route cannot")
				require.Equal(t, want, got, "%q, record %d: %v / resource %v", text, n, lr.Attributes().AsRaw(), rl.Resource().Attributes().AsRaw())
				n++
			}
		}
	}
}
