// Package condition compiles a rule's OTTL conditions and, when every
// condition is a plain equality or existence check on an attribute, answers
// them without OTTL.
package condition // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/condition"

import (
	"context"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
)

type sequence = ottl.ConditionSequence[*ottllog.TransformContext]

// Condition decides whether a record matches. Conditions in the list are
// ORed, as in the other OTTL-configured components. A nil *Condition (no
// conditions configured) matches every record.
type Condition struct {
	// fast is set when every condition fits the simple grammar; it is an OR
	// of ANDs of attribute checks and never fails.
	fast [][]term
	seq  *sequence
}

// Compile parses the conditions with the public OTTL log parser (standard
// converters, path context names, unprefixed paths meaning the log context)
// so every condition is validated by OTTL itself, then keeps the fast form
// when all of them allow it. It is used both by Config.Validate and by the
// factory, so they accept exactly the same conditions.
func Compile(conditions []string, mode ottl.ErrorMode, set component.TelemetrySettings) (*Condition, error) {
	if len(conditions) == 0 {
		return nil, nil
	}
	parser, err := ottllog.NewParser(ottlfuncs.StandardConverters[*ottllog.TransformContext](), set, ottllog.EnablePathContextNames())
	if err != nil {
		return nil, err
	}
	pc, err := ottl.NewParserCollection(set,
		ottl.WithParserCollectionContext(ottllog.ContextName, &parser,
			ottl.WithConditionConverter(func(_ *ottl.ParserCollection[*sequence], _ ottl.ConditionsGetter, parsed []*ottl.Condition[*ottllog.TransformContext]) (*sequence, error) {
				s := ottllog.NewConditionSequence(parsed, set, ottllog.WithConditionSequenceErrorMode(mode))
				return &s, nil
			})),
	)
	if err != nil {
		return nil, err
	}
	seq, err := pc.ParseConditionsWithContext(ottllog.ContextName, ottl.NewConditionsGetter(conditions), true)
	if err != nil {
		return nil, err
	}
	fast := make([][]term, 0, len(conditions))
	for _, c := range conditions {
		terms, ok := parseFast(c)
		if !ok {
			return &Condition{seq: seq}, nil
		}
		fast = append(fast, terms)
	}
	return &Condition{fast: fast}, nil
}

// Fast reports whether the condition runs without OTTL.
func (c *Condition) Fast() bool { return c == nil || c.fast != nil }

// Match evaluates the condition for one record. An error is only possible
// on the OTTL route with error_mode propagate.
func (c *Condition) Match(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) (bool, error) {
	switch {
	case c == nil:
		return true, nil
	case c.fast != nil:
		for _, and := range c.fast {
			if matchAll(and, rl.Resource(), lr) {
				return true, nil
			}
		}
		return false, nil
	default:
		tCtx := ottllog.NewTransformContext(rl, sl, lr)
		defer tCtx.Close()
		return c.seq.Eval(ctx, tCtx)
	}
}

// term is `<attributes path> (==|!=) (<string>|true|false|nil)`.
type term struct {
	resource bool
	key      string
	negate   bool
	kind     pcommon.ValueType // Str, Bool, or Empty for nil
	str      string
	boolean  bool
}

// The fast grammar is deliberately narrow: one attribute key without
// escapes, a literal without escapes, and `and` between terms. Anything
// else (or, not, parentheses, functions, numbers) keeps OTTL's semantics by
// going through OTTL.
var termRE = regexp.MustCompile(`^\s*(resource\.attributes|(?:log\.)?attributes)\["([^"\\]*)"\]\s*(==|!=)\s*("[^"\\]*"|nil|true|false)(\s+and\s+|\s*$)`)

func parseFast(cond string) ([]term, bool) {
	var terms []term
	for rest := cond; ; {
		m := termRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, false
		}
		t := term{resource: m[1] == "resource.attributes", key: m[2], negate: m[3] == "!="}
		switch lit := m[4]; lit {
		case "nil":
			t.kind = pcommon.ValueTypeEmpty
		case "true", "false":
			t.kind, t.boolean = pcommon.ValueTypeBool, lit == "true"
		default:
			t.kind, t.str = pcommon.ValueTypeStr, lit[1:len(lit)-1]
		}
		terms = append(terms, t)
		rest = rest[len(m[0]):]
		if strings.TrimSpace(m[5]) == "" {
			return terms, true
		}
	}
}

func matchAll(terms []term, res pcommon.Resource, lr plog.LogRecord) bool {
	for i := range terms {
		if !terms[i].match(res, lr) {
			return false
		}
	}
	return true
}

// match follows OTTL's comparison rules: a missing or empty value is nil,
// values of another type are never equal, and != is the negation of ==.
func (t *term) match(res pcommon.Resource, lr plog.LogRecord) bool {
	attrs := lr.Attributes()
	if t.resource {
		attrs = res.Attributes()
	}
	v, ok := attrs.Get(t.key)
	var eq bool
	switch {
	case !ok || v.Type() == pcommon.ValueTypeEmpty:
		eq = t.kind == pcommon.ValueTypeEmpty
	case v.Type() != t.kind:
		eq = false
	case t.kind == pcommon.ValueTypeStr:
		eq = v.Str() == t.str
	default:
		eq = v.Bool() == t.boolean
	}
	return eq != t.negate
}
