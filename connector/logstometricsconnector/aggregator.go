package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/fieldpath"
	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/metadata"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
)

// aggregator holds the state of every series: one per resource, metric and
// attribute set, which is the collector's single-writer unit. It is not safe
// for concurrent use; the connector guards it.
type aggregator struct {
	rules     []*rule
	version   string
	resources map[[16]byte]*resourceState
	// lastCollect starts every delta interval.
	lastCollect pcommon.Timestamp
	keyBuf      []byte
	stats       []ruleStats

	// maxStale > 0 expires cumulative series (Config.MaxStale).
	maxStale time.Duration
	// expiry counts what max_stale forgot since start; with max_stale on,
	// emissions carry them under the collector's own resource.
	expiry expiryCounts
}

// expiryCounts are cumulative since the connector started.
type expiryCounts struct {
	self      pcommon.Resource
	start     pcommon.Timestamp
	series    []int64 // per rule
	resources int64
	// changed: the counts moved since they were last emitted.
	changed bool
}

type resourceState struct {
	resource  pcommon.Resource
	schemaURL string
	metrics   []metricState // indexed like aggregator.rules
}

type metricState struct {
	series   map[string]*series
	overflow *series
}

// ruleStats counts what a batch could not record, per rule.
type ruleStats struct {
	missing, nonNumeric, negative, conditionErrors, overflow int64
	// expiredSeries is counted by collect.
	expiredSeries int64
	firstErr      error
}

// newAggregator keeps state for rules; self is the collector's own resource,
// under which expiry counts travel with the data.
func newAggregator(rules []*rule, version string, maxStale time.Duration, self pcommon.Resource, now pcommon.Timestamp) *aggregator {
	return &aggregator{
		rules:       rules,
		version:     version,
		resources:   map[[16]byte]*resourceState{},
		lastCollect: now,
		stats:       make([]ruleStats, len(rules)),
		maxStale:    maxStale,
		expiry:      expiryCounts{self: self, start: now, series: make([]int64, len(rules))},
	}
}

// consume records every matching record of ld. Condition errors (only
// possible with error_mode propagate) skip the record for that rule and are
// left in a.stats for the caller.
func (a *aggregator) consume(ctx context.Context, ld plog.Logs, now pcommon.Timestamp) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := rl.Resource()
		var rs *resourceState // looked up on the first match only
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				for ri, r := range a.rules {
					v, ok := a.evaluate(ctx, ri, r, rl, sl, lr)
					if !ok {
						continue
					}
					if rs == nil {
						rs = a.resourceState(rl)
					}
					s := a.seriesFor(rs, ri, r, res, lr, now)
					s.record(r, v, recordTime(lr))
					s.updated = now
				}
			}
		}
	}
}

// evaluate returns the value a record contributes to a rule, or false when
// it does not match or has no usable value (counted in a.stats).
func (a *aggregator) evaluate(ctx context.Context, ri int, r *rule, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) (float64, bool) {
	match, err := r.cond.Match(ctx, rl, sl, lr)
	if err != nil {
		st := &a.stats[ri]
		st.conditionErrors++
		if st.firstErr == nil {
			st.firstErr = err
		}
		return 0, false
	}
	if !match {
		return 0, false
	}
	if !r.value.IsSet() {
		return 1, true
	}
	raw, ok := r.value.Get(rl.Resource(), lr)
	if !ok {
		a.stats[ri].missing++
		return 0, false
	}
	v, err := fieldpath.Number(raw)
	if err != nil {
		a.stats[ri].nonNumeric++
		return 0, false
	}
	if r.kind == KindCounter && v < 0 {
		a.stats[ri].negative++
		return 0, false
	}
	return v, true
}

func (a *aggregator) resourceState(rl plog.ResourceLogs) *resourceState {
	key := pdatautil.MapHash(rl.Resource().Attributes())
	rs, ok := a.resources[key]
	if !ok {
		rs = &resourceState{resource: pcommon.NewResource(), schemaURL: rl.SchemaUrl(), metrics: make([]metricState, len(a.rules))}
		rl.Resource().CopyTo(rs.resource)
		a.resources[key] = rs
	}
	return rs
}

func (a *aggregator) seriesFor(rs *resourceState, ri int, r *rule, res pcommon.Resource, lr plog.LogRecord, now pcommon.Timestamp) *series {
	ms := &rs.metrics[ri]
	a.keyBuf = r.appendKey(a.keyBuf[:0], res, lr)
	if s, ok := ms.series[string(a.keyBuf)]; ok {
		return s
	}
	if len(ms.series) >= r.limit {
		a.stats[ri].overflow++
		if ms.overflow == nil {
			ms.overflow = newSeries(r, now)
			ms.overflow.attrs.PutBool(overflowKey, true)
		}
		return ms.overflow
	}
	if ms.series == nil {
		ms.series = map[string]*series{}
	}
	s := newSeries(r, now)
	r.putAttributes(s.attrs, res, lr)
	ms.series[string(a.keyBuf)] = s
	return s
}

// recordTime orders gauge values: the record's time, or when it was observed.
func recordTime(lr plog.LogRecord) pcommon.Timestamp {
	if ts := lr.Timestamp(); ts != 0 {
		return ts
	}
	return lr.ObservedTimestamp()
}

// collect expires stale series, builds the metrics of every active series
// as of now, then starts the next delta interval. It returns how many data
// points are delta: those are lost if the caller cannot deliver them, while
// cumulative points are sent again, with their totals, next time.
func (a *aggregator) collect(now pcommon.Timestamp) (pmetric.Metrics, int) {
	md := pmetric.NewMetrics()
	deltaPoints := 0
	// A series last updated before cutoff has been stale for max_stale.
	cutoff := now - pcommon.Timestamp(a.maxStale)
	for key, rs := range a.resources {
		rm := md.ResourceMetrics().AppendEmpty()
		rs.resource.CopyTo(rm.Resource())
		rm.SetSchemaUrl(rs.schemaURL)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(metadata.ScopeName)
		sm.Scope().SetVersion(a.version)
		live := false
		for ri, r := range a.rules {
			ms := &rs.metrics[ri]
			if a.maxStale > 0 && !r.delta {
				if n := ms.expire(cutoff); n > 0 {
					a.stats[ri].expiredSeries += n
					a.expiry.series[ri] += n
					a.expiry.changed = true
				}
			}
			if ms.active() {
				m := sm.Metrics().AppendEmpty()
				m.SetName(r.name)
				m.SetDescription(r.description)
				m.SetUnit(r.unit)
				points := r.emit(m, ms, a.lastCollect, now)
				if r.delta {
					deltaPoints += points
				}
			}
			if r.delta {
				ms.nextInterval()
			}
			live = live || len(ms.series) > 0 || ms.overflow != nil
		}
		if !live {
			delete(a.resources, key)
			a.expiry.resources++
			a.expiry.changed = true
		}
	}
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		return rm.ScopeMetrics().At(0).Metrics().Len() == 0
	})
	// The counts ride along with every emission that carries data, and
	// with the first one after they moved.
	if a.maxStale > 0 && (md.ResourceMetrics().Len() > 0 || a.expiry.changed) {
		a.expiry.appendTo(md, a.rules, a.version, now)
		a.expiry.changed = false
	}
	a.lastCollect = now
	return md, deltaPoints
}

// appendTo adds the expiry counts, as cumulative sums under the collector's
// own resource: a gateway has no lambdatelemetry receiver to carry
// lambdalifecycle stats, so the connector's output carries them.
func (e *expiryCounts) appendTo(md pmetric.Metrics, rules []*rule, version string, now pcommon.Timestamp) {
	rm := md.ResourceMetrics().AppendEmpty()
	e.self.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	sm.Scope().SetVersion(version)
	sum := func(name, description, unit string) pmetric.Sum {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(description)
		m.SetUnit(unit)
		s := m.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return s
	}
	point := func(s pmetric.Sum, v int64) pmetric.NumberDataPoint {
		dp := s.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(e.start)
		dp.SetTimestamp(now)
		dp.SetIntValue(v)
		return dp
	}
	// Only cumulative rules expire; delta ones forget idle series by themselves.
	if slices.ContainsFunc(rules, func(r *rule) bool { return !r.delta }) {
		series := sum(expiredSeriesMetric, expiredSeriesDescription, "{series}")
		for ri, r := range rules {
			if !r.delta {
				point(series, e.series[ri]).Attributes().PutStr("metric", r.name)
			}
		}
	}
	point(sum(expiredResourcesMetric, expiredResourcesDescription, "{resource}"), e.resources)
}

// active reports whether any series recorded a value since the last
// emission (always true for a cumulative metric with series).
func (ms *metricState) active() bool {
	if ms.overflow != nil && ms.overflow.count > 0 {
		return true
	}
	for _, s := range ms.series {
		if s.count > 0 {
			return true
		}
	}
	return false
}

// expire forgets the series (overflow included) last updated before cutoff
// and returns how many.
func (ms *metricState) expire(cutoff pcommon.Timestamp) int64 {
	var n int64
	for key, s := range ms.series {
		if s.updated < cutoff {
			delete(ms.series, key)
			n++
		}
	}
	if ms.overflow != nil && ms.overflow.updated < cutoff {
		ms.overflow = nil
		n++
	}
	return n
}

// nextInterval starts a delta interval: series idle for a whole interval are
// forgotten (which also frees their place under the cardinality limit), the
// others are zeroed and reused.
func (ms *metricState) nextInterval() {
	for key, s := range ms.series {
		if s.count == 0 {
			delete(ms.series, key)
		} else {
			s.reset()
		}
	}
	if ms.overflow != nil {
		if ms.overflow.count == 0 {
			ms.overflow = nil
		} else {
			ms.overflow.reset()
		}
	}
}

// emit writes the data points of one metric's active series and returns
// how many it wrote.
func (r *rule) emit(m pmetric.Metric, ms *metricState, intervalStart, now pcommon.Timestamp) int {
	n := 0
	for _, s := range ms.series {
		if s.count > 0 {
			n++
		}
	}
	if ms.overflow != nil && ms.overflow.count > 0 {
		n++
	}
	temporality := pmetric.AggregationTemporalityCumulative
	if r.delta {
		temporality = pmetric.AggregationTemporalityDelta
	}
	var add func(s *series, start pcommon.Timestamp)
	switch r.kind {
	case KindCounter:
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(temporality)
		sum.DataPoints().EnsureCapacity(n)
		add = func(s *series, start pcommon.Timestamp) {
			s.toNumber(r, sum.DataPoints().AppendEmpty(), start, now)
		}
	case KindHistogram:
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(temporality)
		h.DataPoints().EnsureCapacity(n)
		add = func(s *series, start pcommon.Timestamp) {
			s.toHistogram(r, h.DataPoints().AppendEmpty(), start, now)
		}
	case KindExponentialHistogram:
		h := m.SetEmptyExponentialHistogram()
		h.SetAggregationTemporality(temporality)
		h.DataPoints().EnsureCapacity(n)
		add = func(s *series, start pcommon.Timestamp) {
			s.toExponentialHistogram(h.DataPoints().AppendEmpty(), start, now)
		}
	case KindGauge:
		g := m.SetEmptyGauge()
		g.DataPoints().EnsureCapacity(n)
		add = func(s *series, start pcommon.Timestamp) {
			s.toNumber(r, g.DataPoints().AppendEmpty(), start, now)
		}
	default:
		panic(fmt.Sprintf("rule %q has unknown kind %q", r.name, r.kind))
	}
	for _, s := range ms.series {
		if s.count > 0 {
			add(s, r.startTime(s, intervalStart))
		}
	}
	if ms.overflow != nil && ms.overflow.count > 0 {
		add(ms.overflow, r.startTime(ms.overflow, intervalStart))
	}
	return n
}

// startTime keeps the single-writer rule's promise: a cumulative series
// always reports the time it was created, a delta point the interval start.
func (r *rule) startTime(s *series, intervalStart pcommon.Timestamp) pcommon.Timestamp {
	if r.delta {
		return intervalStart
	}
	return s.start
}
