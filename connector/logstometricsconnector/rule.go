package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/lightstep/go-expohisto/structure"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/condition"
	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/fieldpath"
)

// defaultBuckets are the OpenTelemetry SDKs' default explicit bounds.
var defaultBuckets = []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

// overflowKey marks the series that collects values beyond the cardinality
// limit, as the OpenTelemetry SDKs do.
const overflowKey = "otel.metric.overflow"

// rule is a RuleConfig compiled for the data path.
type rule struct {
	name, description, unit string
	kind                    Kind
	delta                   bool
	cond                    *condition.Condition
	value                   fieldpath.Path
	bounds                  []float64
	maxSize                 int32
	limit                   int
	attrs                   []attrSpec
}

type attrSpec struct {
	key     string
	isFixed bool
	field   fieldpath.Path // unset for a fixed value
	fixed   string
	def     string
	hasDef  bool
}

// compileRules turns the config into rules. Config.Validate and the factory
// both call it, so start-up and validation reject the same configs; every
// error is prefixed with the rule it belongs to.
func compileRules(cfg *Config, set component.TelemetrySettings) ([]*rule, error) {
	var errs []error
	rules := make([]*rule, 0, len(cfg.Rules))
	seen := make(map[string]bool, len(cfg.Rules))
	for i := range cfg.Rules {
		rc := &cfg.Rules[i]
		r, err := compileRule(rc, cfg, set)
		if seen[rc.Name] {
			err = errors.Join(err, errors.New("name: another rule already produces this metric"))
		}
		seen[rc.Name] = true
		if err != nil {
			errs = append(errs, fmt.Errorf("rules[%d] %q: %w", i, rc.Name, err))
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

func compileRule(rc *RuleConfig, cfg *Config, set component.TelemetrySettings) (*rule, error) {
	r := &rule{
		name:        rc.Name,
		description: rc.Description,
		unit:        rc.Unit,
		kind:        rc.Kind,
		delta:       rc.Temporality == TemporalityDelta,
		value:       rc.Value,
		limit:       cfg.CardinalityLimit,
	}
	var errs []error
	if rc.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	switch rc.Kind {
	case "":
		errs = append(errs, errors.New("kind: required (counter, histogram, exponential_histogram or gauge)"))
	case KindCounter:
	default:
		if !rc.Value.IsSet() {
			errs = append(errs, fmt.Errorf("value: required for kind %s", rc.Kind))
		}
	}
	if rc.Kind == KindHistogram {
		r.bounds = defaultBuckets
		if len(rc.Buckets) > 0 {
			r.bounds = rc.Buckets
		}
		for j, b := range r.bounds {
			if math.IsNaN(b) || math.IsInf(b, 0) || (j > 0 && b <= r.bounds[j-1]) {
				errs = append(errs, errors.New("buckets: must be finite and strictly increasing"))
				break
			}
		}
	} else if len(rc.Buckets) > 0 {
		errs = append(errs, errors.New("buckets: only valid for kind histogram"))
	}
	if rc.Kind == KindExponentialHistogram {
		r.maxSize = structure.DefaultMaxSize
		if rc.MaxSize != 0 {
			r.maxSize = rc.MaxSize
		}
		if r.maxSize < structure.MinSize || r.maxSize > structure.MaximumMaxSize {
			errs = append(errs, fmt.Errorf("max_size: must be between %d and %d", structure.MinSize, structure.MaximumMaxSize))
		}
	} else if rc.MaxSize != 0 {
		errs = append(errs, errors.New("max_size: only valid for kind exponential_histogram"))
	}
	switch {
	case rc.CardinalityLimit < 0:
		errs = append(errs, errors.New("cardinality_limit: must not be negative"))
	case rc.CardinalityLimit > 0:
		r.limit = rc.CardinalityLimit
	}
	attrs, err := compileAttributes(rc.Attributes)
	if err != nil {
		errs = append(errs, err)
	}
	r.attrs = attrs
	cond, err := condition.Compile(rc.Conditions, cfg.ErrorMode, set)
	if err != nil {
		errs = append(errs, fmt.Errorf("conditions: %w", err))
	}
	r.cond = cond
	return r, errors.Join(errs...)
}

func compileAttributes(cfgs []AttributeConfig) ([]attrSpec, error) {
	var errs []error
	specs := make([]attrSpec, 0, len(cfgs))
	seen := make(map[string]bool, len(cfgs))
	for j, ac := range cfgs {
		where := fmt.Sprintf("attributes[%d]", j)
		switch {
		case ac.Key == "":
			errs = append(errs, fmt.Errorf("%s.key: required", where))
			continue
		case ac.Key == overflowKey:
			errs = append(errs, fmt.Errorf("%s.key: %s is reserved for the overflow series", where, overflowKey))
		case seen[ac.Key]:
			errs = append(errs, fmt.Errorf("%s.key: %q appears twice", where, ac.Key))
		case ac.Value != "" && (ac.Field.IsSet() || ac.DefaultValue != ""):
			errs = append(errs, fmt.Errorf("%s.value: a fixed value excludes field and default_value", where))
		}
		seen[ac.Key] = true
		spec := attrSpec{key: ac.Key, isFixed: ac.Value != "", field: ac.Field, fixed: ac.Value, def: ac.DefaultValue, hasDef: ac.DefaultValue != ""}
		if ac.Value == "" && !ac.Field.IsSet() {
			spec.field = fieldpath.ForAttribute(ac.Key)
		}
		specs = append(specs, spec)
	}
	return specs, errors.Join(errs...)
}

// appendKey appends an encoding of the record's attribute set for this rule
// to buf. Fixed values are the same for every record and are left out. Each
// value carries its type so that "1" and 1 stay distinct series.
func (r *rule) appendKey(buf []byte, res pcommon.Resource, lr plog.LogRecord) []byte {
	for i := range r.attrs {
		a := &r.attrs[i]
		if a.isFixed {
			continue
		}
		v, ok := a.field.Get(res, lr)
		if !ok {
			if a.hasDef {
				buf = appendString(append(buf, 's'), a.def)
			} else {
				buf = append(buf, 0)
			}
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			buf = appendString(append(buf, 's'), v.Str())
		case pcommon.ValueTypeInt:
			buf = binary.LittleEndian.AppendUint64(append(buf, 'i'), uint64(v.Int()))
		case pcommon.ValueTypeDouble:
			buf = binary.LittleEndian.AppendUint64(append(buf, 'd'), math.Float64bits(v.Double()))
		case pcommon.ValueTypeBool:
			b := byte(0)
			if v.Bool() {
				b = 1
			}
			buf = append(buf, 'b', b)
		default:
			buf = appendString(append(buf, 'o', byte(v.Type())), v.AsString())
		}
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// putAttributes writes the data point attributes of a new series; it reads
// the same fields as appendKey.
func (r *rule) putAttributes(dst pcommon.Map, res pcommon.Resource, lr plog.LogRecord) {
	dst.EnsureCapacity(len(r.attrs))
	for i := range r.attrs {
		a := &r.attrs[i]
		if a.isFixed {
			dst.PutStr(a.key, a.fixed)
			continue
		}
		if v, ok := a.field.Get(res, lr); ok {
			v.CopyTo(dst.PutEmpty(a.key))
		} else if a.hasDef {
			dst.PutStr(a.key, a.def)
		}
	}
}
