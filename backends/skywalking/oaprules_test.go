package skywalking

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// What the OAP does with OTLP metrics before MAL sees them
// (OpenTelemetryMetricRequestProcessor and PrometheusMetricConverter), and
// the parts of a MAL rule file that name metrics and labels.

// malFile is an otel-rules file.
type malFile struct {
	Filter       string `yaml:"filter"`
	ExpPrefix    string `yaml:"expPrefix"`
	ExpSuffix    string `yaml:"expSuffix"`
	MetricPrefix string `yaml:"metricPrefix"`
	MetricsRules []struct {
		Name string `yaml:"name"`
		Exp  string `yaml:"exp"`
	} `yaml:"metricsRules"`
}

// lalFile is a lal/ file.
type lalFile struct {
	Rules []struct {
		Name  string `yaml:"name"`
		Layer string `yaml:"layer"`
		DSL   string `yaml:"dsl"`
	} `yaml:"rules"`
}

// oapVersion selects how resource attributes become labels.
type oapVersion string

const (
	// oap103: service.name (and job) renamed to job_name, host.name and
	// net.host.name to node_identifier_host_name, then dots to underscores.
	oap103 oapVersion = "10.3"
	// oap104: every attribute with dots as underscores; then job_name (from
	// service.name) and node_identifier_host_name only where absent.
	oap104 oapVersion = "10.4"
)

// sample is one MAL sample: a family name and its labels.
type sample struct {
	family string
	labels map[string]string
}

var nameEscape = regexp.MustCompile(`[/.]`)

// samples converts exported metrics into the samples MAL rules would see.
func samples(mds []pmetric.Metrics, v oapVersion) []sample {
	var out []sample
	for _, md := range mds {
		for _, rm := range md.ResourceMetrics().All() {
			node := nodeLabels(rm.Resource().Attributes(), v)
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					out = append(out, metricSamples(m, node)...)
				}
			}
		}
	}
	return out
}

func nodeLabels(attrs pcommon.Map, v oapVersion) map[string]string {
	labels := map[string]string{}
	switch v {
	case oap103:
		renamed := map[string]string{"net.host.name": "node_identifier_host_name", "host.name": "node_identifier_host_name", "job": "job_name", "service.name": "job_name"}
		for k, val := range attrs.All() {
			if r, ok := renamed[k]; ok {
				k = r
			}
			k = strings.ReplaceAll(k, ".", "_")
			if _, ok := labels[k]; !ok {
				labels[k] = val.AsString()
			}
		}
	case oap104:
		for k, val := range attrs.All() {
			k = strings.ReplaceAll(k, ".", "_")
			if _, ok := labels[k]; !ok {
				labels[k] = val.AsString()
			}
		}
		fallback := map[string]string{"net.host.name": "node_identifier_host_name", "host.name": "node_identifier_host_name", "service.name": "job_name"}
		for k, val := range attrs.All() {
			if r, ok := fallback[k]; ok {
				if _, ok := labels[r]; !ok {
					labels[r] = val.AsString()
				}
			}
		}
	}
	return labels
}

func pointLabels(node map[string]string, attrs pcommon.Map) map[string]string {
	labels := maps.Clone(node)
	for k, v := range attrs.All() {
		labels[strings.ReplaceAll(k, ".", "_")] = v.AsString()
	}
	return labels
}

func metricSamples(m pmetric.Metric, node map[string]string) []sample {
	name := nameEscape.ReplaceAllString(m.Name(), "_")
	var out []sample
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			out = append(out, sample{name, pointLabels(node, dp.Attributes())})
		}
	case pmetric.MetricTypeSum:
		if m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityUnspecified {
			return nil // dropped by the OAP
		}
		for _, dp := range m.Sum().DataPoints().All() {
			out = append(out, sample{name, pointLabels(node, dp.Attributes())})
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			labels := pointLabels(node, dp.Attributes())
			out = append(out, sample{name + "_count", labels}, sample{name + "_sum", labels})
			for _, b := range append(dp.ExplicitBounds().AsRaw(), math.Inf(1)) {
				le := maps.Clone(labels)
				le["le"] = strconv.FormatFloat(b, 'f', -1, 64)
				out = append(out, sample{name, le})
			}
		}
	}
	return out
}

var (
	quoted       = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	identifier   = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	labelList    = regexp.MustCompile(`\b(?:sum|avg|min|max|count|service|instance|endpoint)\(\[([^\]]*)\]`)
	filterEquals = regexp.MustCompile(`tags\.(\w+)\s*==\s*'([^']*)'`)
)

// families lists the sample families an expression reads: identifiers that
// are neither a method (after a dot) nor a call (before a parenthesis).
func families(exp string) []string {
	text := quoted.ReplaceAllString(exp, "''")
	var out []string
	for _, loc := range identifier.FindAllStringIndex(text, -1) {
		before := strings.TrimRight(text[:loc[0]], " ")
		after := strings.TrimLeft(text[loc[1]:], " ")
		if strings.HasSuffix(before, ".") || strings.HasPrefix(after, "(") {
			continue
		}
		if name := text[loc[0]:loc[1]]; !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// labels lists the labels an expression aggregates by or builds entities from.
func labels(exp string) []string {
	var out []string
	for _, m := range labelList.FindAllStringSubmatch(exp, -1) {
		for _, q := range quoted.FindAllString(m[1], -1) {
			if l := strings.Trim(q, `'"`); !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

// malViolations checks a rule file against the samples the preset produced:
// every family a rule reads exists, passes the file's filter, and carries
// every label the rule and the file's entity use (`le` where it is a bucket).
func malViolations(rules malFile, got []sample) []string {
	byFamily := map[string][]sample{}
	for _, s := range got {
		byFamily[s.family] = append(byFamily[s.family], s)
	}
	filters := filterEquals.FindAllStringSubmatch(rules.Filter, -1)
	suffixLabels := labels(rules.ExpSuffix)
	var v []string
	for _, r := range rules.MetricsRules {
		want := labels(r.Exp)
		for _, l := range suffixLabels {
			if !slices.Contains(want, l) {
				want = append(want, l)
			}
		}
		for _, f := range families(r.Exp) {
			ss := byFamily[f]
			if len(ss) == 0 {
				v = append(v, fmt.Sprintf("rule %q reads %q, which the preset does not export", r.Name, f))
				continue
			}
			for _, s := range ss {
				for _, fl := range filters {
					if s.labels[fl[1]] != fl[2] {
						v = append(v, fmt.Sprintf("rule %q: a %q sample has %s=%q: the filter drops it", r.Name, f, fl[1], s.labels[fl[1]]))
					}
				}
				for _, l := range want {
					if _, ok := s.labels[l]; !ok && (l != "le" || isBucketFamily(ss)) {
						v = append(v, fmt.Sprintf("rule %q: a %q sample has no label %q", r.Name, f, l))
					}
				}
			}
		}
	}
	return v
}

func isBucketFamily(ss []sample) bool {
	for _, s := range ss {
		if _, ok := s.labels["le"]; ok {
			return true
		}
	}
	return false
}

func TestOAPSamples(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	require.NoError(t, rm.Resource().Attributes().FromRaw(map[string]any{
		"service.name": "svc", "service.instance.id": "i-1", "cloud.platform": "aws_lambda",
	}))
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	h := ms.AppendEmpty()
	h.SetName("inference_duration_ms")
	dp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.ExplicitBounds().FromRaw([]float64{5, 10})
	dp.Attributes().PutStr("model.name", "m")
	s := ms.AppendEmpty()
	s.SetName("faas.invocations")
	s.SetEmptySum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	s.Sum().DataPoints().AppendEmpty()
	unspecified := ms.AppendEmpty()
	unspecified.SetName("dropped")
	unspecified.SetEmptySum().DataPoints().AppendEmpty()

	for _, tc := range []struct {
		version     oapVersion
		serviceName bool // 10.4 keeps service.name as service_name too
	}{{oap103, false}, {oap104, true}} {
		t.Run(string(tc.version), func(t *testing.T) {
			got := map[string][]map[string]string{}
			for _, s := range samples([]pmetric.Metrics{md}, tc.version) {
				got[s.family] = append(got[s.family], s.labels)
			}
			assert.ElementsMatch(t, []string{"inference_duration_ms", "inference_duration_ms_count", "inference_duration_ms_sum", "faas_invocations"}, slices.Collect(maps.Keys(got)))
			var les []string
			for _, l := range got["inference_duration_ms"] {
				les = append(les, l["le"])
			}
			assert.Equal(t, []string{"5", "10", "+Inf"}, les)
			l := got["faas_invocations"][0]
			assert.Equal(t, "svc", l["job_name"])
			assert.Equal(t, "i-1", l["service_instance_id"])
			assert.Equal(t, "aws_lambda", l["cloud_platform"])
			_, ok := l["service_name"]
			assert.Equal(t, tc.serviceName, ok)
			assert.Equal(t, "m", got["inference_duration_ms_count"][0]["model_name"])
		})
	}
}

func TestMALExpressionParts(t *testing.T) {
	for _, tc := range []struct {
		exp              string
		families, labels []string
	}{
		{
			exp:      "faas_invocations.sum(['job_name', 'service_instance_id']).increase('PT1M').sum(['job_name'])",
			families: []string{"faas_invocations"}, labels: []string{"job_name", "service_instance_id"},
		},
		{
			exp:      "(aws_lambda_memory_utilization * 100).avg(['job_name'])",
			families: []string{"aws_lambda_memory_utilization"}, labels: []string{"job_name"},
		},
		{
			exp:      "a_sum.sum(['x']).increase('PT1M') / a_count.sum(['x']).increase('PT1M')",
			families: []string{"a_sum", "a_count"}, labels: []string{"x"},
		},
	} {
		assert.Equal(t, tc.families, families(tc.exp), tc.exp)
		assert.Equal(t, tc.labels, labels(tc.exp), tc.exp)
	}
}

func TestMALViolations(t *testing.T) {
	rules := malFile{Filter: "{ tags -> tags.cloud_platform == 'aws_lambda' }", ExpSuffix: "service(['job_name'], Layer.GENERAL)"}
	rules.MetricsRules = append(rules.MetricsRules, struct {
		Name string `yaml:"name"`
		Exp  string `yaml:"exp"`
	}{Name: "p", Exp: "lat.sum(['le', 'job_name', 'model_name']).histogram()"})
	bucket := func(edit func(map[string]string)) sample {
		l := map[string]string{"le": "5", "job_name": "svc", "model_name": "m", "cloud_platform": "aws_lambda"}
		edit(l)
		return sample{family: "lat", labels: l}
	}
	for _, tc := range []struct {
		name string
		got  []sample
		want string
	}{
		{"valid", []sample{bucket(func(map[string]string) {})}, ""},
		{"family missing", []sample{{family: "other", labels: map[string]string{}}}, `reads "lat", which the preset does not export`},
		{"label missing", []sample{bucket(func(l map[string]string) { delete(l, "model_name") })}, `no label "model_name"`},
		{"entity label missing", []sample{bucket(func(l map[string]string) { delete(l, "job_name") })}, `no label "job_name"`},
		{"filtered out", []sample{bucket(func(l map[string]string) { l["cloud_platform"] = "aws_ec2" })}, "the filter drops it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := malViolations(rules, tc.got)
			if tc.want == "" {
				assert.Empty(t, v)
				return
			}
			require.Len(t, v, 1, "%q", v)
			assert.Contains(t, v[0], tc.want)
		})
	}
}
