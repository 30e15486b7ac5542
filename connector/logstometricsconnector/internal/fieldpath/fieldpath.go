// Package fieldpath reads one value from a log record, its resource or its
// body by a path written like an OTTL path (`attributes["duration_ms"]`,
// `resource.attributes["service.name"]`, `body["latency"]["p50"]`, `body`).
// It exists so that the data path reads fields without an OTTL evaluation.
package fieldpath // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/fieldpath"

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

type source int

const (
	recordAttributes source = iota
	resourceAttributes
	body
)

// Path locates a value; the zero Path is invalid (see IsSet).
type Path struct {
	text string
	src  source
	keys []string
}

var keyRE = regexp.MustCompile(`^\["((?:[^"\\]|\\.)*)"\]`)

// Parse reads a path. Accepted roots are `attributes`, `log.attributes`,
// `resource.attributes`, `body` and `log.body`; attributes need at least one
// key, and each further key indexes a nested map.
func Parse(text string) (Path, error) {
	p := Path{text: text}
	rest := strings.TrimSpace(text)
	rest = strings.TrimPrefix(rest, "log.")
	switch {
	case strings.HasPrefix(rest, "resource.attributes"):
		p.src, rest = resourceAttributes, strings.TrimPrefix(rest, "resource.attributes")
	case strings.HasPrefix(rest, "attributes"):
		p.src, rest = recordAttributes, strings.TrimPrefix(rest, "attributes")
	case strings.HasPrefix(rest, "body"):
		p.src, rest = body, strings.TrimPrefix(rest, "body")
	default:
		return Path{}, fmt.Errorf("path %q must start with attributes, resource.attributes or body", text)
	}
	for rest != "" {
		m := keyRE.FindStringSubmatch(rest)
		if m == nil {
			return Path{}, fmt.Errorf("path %q: expected [\"key\"] at %q", text, rest)
		}
		key, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			return Path{}, fmt.Errorf("path %q: key %s: %w", text, m[1], err)
		}
		p.keys = append(p.keys, key)
		rest = rest[len(m[0]):]
	}
	if p.src != body && len(p.keys) == 0 {
		return Path{}, fmt.Errorf("path %q: attributes need a key, as in attributes[\"name\"]", text)
	}
	return p, nil
}

// ForAttribute is the path of a record attribute.
func ForAttribute(key string) Path {
	return Path{text: "attributes[" + strconv.Quote(key) + "]", src: recordAttributes, keys: []string{key}}
}

// UnmarshalText lets a Path check itself while the config is decoded.
func (p *Path) UnmarshalText(text []byte) error {
	parsed, err := Parse(string(text))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

// MarshalText returns the path as written.
func (p Path) MarshalText() ([]byte, error) { return []byte(p.text), nil }

// String returns the path as written.
func (p Path) String() string { return p.text }

// IsSet reports whether the path was configured.
func (p Path) IsSet() bool { return p.text != "" }

// Get returns the value at the path, or false when any step is missing, is
// not a map where a key follows, or holds an empty value.
func (p *Path) Get(res pcommon.Resource, lr plog.LogRecord) (pcommon.Value, bool) {
	var m pcommon.Map
	keys := p.keys
	switch p.src {
	case recordAttributes:
		m = lr.Attributes()
	case resourceAttributes:
		m = res.Attributes()
	default:
		b := lr.Body()
		if len(keys) == 0 {
			return b, b.Type() != pcommon.ValueTypeEmpty
		}
		if b.Type() != pcommon.ValueTypeMap {
			return pcommon.Value{}, false
		}
		m = b.Map()
	}
	for {
		v, ok := m.Get(keys[0])
		if !ok {
			return pcommon.Value{}, false
		}
		keys = keys[1:]
		if len(keys) == 0 {
			return v, v.Type() != pcommon.ValueTypeEmpty
		}
		if v.Type() != pcommon.ValueTypeMap {
			return pcommon.Value{}, false
		}
		m = v.Map()
	}
}

// ErrNotNumeric is returned by Number for values that are not finite numbers.
var ErrNotNumeric = errors.New("value is not a finite number")

// Number coerces ints, doubles and numeric strings (surrounding spaces
// allowed) to float64. NaN and infinities are rejected: one of them would
// poison every sum it joins.
func Number(v pcommon.Value) (float64, error) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), nil
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeStr:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v.Str()), 64); err != nil {
			return 0, ErrNotNumeric
		}
	default:
		return 0, ErrNotNumeric
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, ErrNotNumeric
	}
	return f, nil
}
