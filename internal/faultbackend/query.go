package faultbackend

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ForEachSpan calls fn for every span accepted, with its resource, in arrival order.
func (b *Backend) ForEachSpan(fn func(res pcommon.Resource, span ptrace.Span)) {
	for _, td := range b.AllTraces() {
		for i := range td.ResourceSpans().Len() {
			rs := td.ResourceSpans().At(i)
			for j := range rs.ScopeSpans().Len() {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := range spans.Len() {
					fn(rs.Resource(), spans.At(k))
				}
			}
		}
	}
}

// ForEachLog calls fn for every log record accepted, in arrival order.
func (b *Backend) ForEachLog(fn func(res pcommon.Resource, lr plog.LogRecord)) {
	for _, ld := range b.AllLogs() {
		ForEachLog(ld, fn)
	}
}

// ForEachLog calls fn for every log record of ld.
func ForEachLog(ld plog.Logs, fn func(res pcommon.Resource, lr plog.LogRecord)) {
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		for j := range rl.ScopeLogs().Len() {
			recs := rl.ScopeLogs().At(j).LogRecords()
			for k := range recs.Len() {
				fn(rl.Resource(), recs.At(k))
			}
		}
	}
}

// ForEachMetric calls fn for every metric accepted, in arrival order.
func (b *Backend) ForEachMetric(fn func(res pcommon.Resource, m pmetric.Metric)) {
	for _, md := range b.AllMetrics() {
		for i := range md.ResourceMetrics().Len() {
			rm := md.ResourceMetrics().At(i)
			for j := range rm.ScopeMetrics().Len() {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := range ms.Len() {
					fn(rm.Resource(), ms.At(k))
				}
			}
		}
	}
}

// MetricPoints counts the data points of the metric name accepted (every
// export of a cumulative series counts).
func (b *Backend) MetricPoints(name string) int {
	n := 0
	b.ForEachMetric(func(_ pcommon.Resource, m pmetric.Metric) {
		if m.Name() == name {
			n += pointCount(m)
		}
	})
	return n
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// Point is the newest value of one series: a metric name with one resource
// and one set of point attributes.
type Point struct {
	Resource   map[string]any
	Attributes map[string]any
	Time       time.Time
	// Value of a sum or gauge point; the count of a histogram point.
	Value float64
}

// Latest returns the newest point (by timestamp; on a tie, the later
// arrival) of every series of the metric name, ordered by attributes.
// With cumulative sums that is each series' final total, whatever order a
// spool delivered them in.
func (b *Backend) Latest(name string) []Point {
	newest := map[string]Point{}
	b.ForEachMetric(func(res pcommon.Resource, m pmetric.Metric) {
		if m.Name() != name {
			return
		}
		add := func(attrs pcommon.Map, ts pcommon.Timestamp, v float64) {
			p := Point{Resource: res.Attributes().AsRaw(), Attributes: attrs.AsRaw(), Time: ts.AsTime(), Value: v}
			key := fmt.Sprint(p.Resource, p.Attributes) // fmt prints maps sorted by key
			if old, ok := newest[key]; !ok || !p.Time.Before(old.Time) {
				newest[key] = p
			}
		}
		number := func(dps pmetric.NumberDataPointSlice) {
			for i := range dps.Len() {
				dp := dps.At(i)
				v := dp.DoubleValue()
				if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
					v = float64(dp.IntValue())
				}
				add(dp.Attributes(), dp.Timestamp(), v)
			}
		}
		switch m.Type() {
		case pmetric.MetricTypeSum:
			number(m.Sum().DataPoints())
		case pmetric.MetricTypeGauge:
			number(m.Gauge().DataPoints())
		case pmetric.MetricTypeHistogram:
			for i := range m.Histogram().DataPoints().Len() {
				dp := m.Histogram().DataPoints().At(i)
				add(dp.Attributes(), dp.Timestamp(), float64(dp.Count()))
			}
		}
	})
	keys := slices.Sorted(maps.Keys(newest))
	out := make([]Point, 0, len(keys))
	for _, k := range keys {
		out = append(out, newest[k])
	}
	return out
}

// LastValue sums the newest values of the series of name whose point
// attributes include every one of attrs (nil: all series); found is false
// when no series matches. For a cumulative counter split by attributes (for
// example {reason, signal}) it is the total for the attrs asked for.
func (b *Backend) LastValue(name string, attrs map[string]string) (v float64, found bool) {
	for _, p := range b.Latest(name) {
		if matches(p.Attributes, attrs) {
			v, found = v+p.Value, true
		}
	}
	return v, found
}

func matches(have map[string]any, want map[string]string) bool {
	for k, w := range want {
		if fmt.Sprint(have[k]) != w || have[k] == nil {
			return false
		}
	}
	return true
}

// String summarises what was accepted, for test failure messages.
func (b *Backend) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "faultbackend %s (mode %s): %d spans, %d log records, %d metric points in %d requests",
		b.Endpoint(), b.Mode(), b.SpanCount(), b.LogRecordCount(), b.DataPointCount(), len(b.Arrivals()))
	return sb.String()
}
