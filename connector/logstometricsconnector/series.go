package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"sort"

	"github.com/lightstep/go-expohisto/structure"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// series is the running aggregate of one resource, metric and attribute
// set. Which fields are used depends on the rule's kind.
type series struct {
	attrs pcommon.Map
	// start is when the series was created: a cumulative series' start time.
	start pcommon.Timestamp
	// updated is when a value was last recorded (max_stale).
	updated pcommon.Timestamp
	// count is the number of values recorded; 0 means idle (delta series
	// after an emission).
	count uint64
	sum   float64
	// min and max are valid once count > 0.
	min, max float64
	buckets  []uint64                      // histogram: len(bounds)+1
	expo     *structure.Histogram[float64] // exponential histogram
	// last and lastTime hold a gauge's latest value by record time.
	last     float64
	lastTime pcommon.Timestamp
}

func newSeries(r *rule, now pcommon.Timestamp) *series {
	s := &series{attrs: pcommon.NewMap(), start: now}
	switch r.kind {
	case KindHistogram:
		s.buckets = make([]uint64, len(r.bounds)+1)
	case KindExponentialHistogram:
		s.expo = structure.NewFloat64(structure.NewConfig(structure.WithMaxSize(r.maxSize)))
	}
	return s
}

// record adds one value; at is the record's time, used by gauges to keep
// the latest value when batches arrive out of order.
func (s *series) record(r *rule, v float64, at pcommon.Timestamp) {
	switch r.kind {
	case KindExponentialHistogram:
		s.expo.Update(v)
	case KindGauge:
		if s.count == 0 || at >= s.lastTime {
			s.last, s.lastTime = v, at
		}
	case KindHistogram:
		// Bucket i holds (bounds[i-1], bounds[i]]: the first bound >= v.
		s.buckets[sort.SearchFloat64s(r.bounds, v)]++
		if s.count == 0 || v < s.min {
			s.min = v
		}
		if s.count == 0 || v > s.max {
			s.max = v
		}
	}
	s.count++
	s.sum += v
}

// reset starts a new delta interval; the series keeps its attributes so an
// active series costs no allocation per interval.
func (s *series) reset() {
	s.count, s.sum, s.min, s.max, s.last, s.lastTime = 0, 0, 0, 0, 0, 0
	clear(s.buckets)
	if s.expo != nil {
		s.expo.Clear()
	}
}

func (s *series) toNumber(r *rule, dp pmetric.NumberDataPoint, start, now pcommon.Timestamp) {
	s.attrs.CopyTo(dp.Attributes())
	dp.SetTimestamp(now)
	switch {
	case r.kind == KindGauge:
		dp.SetDoubleValue(s.last)
	case r.value.IsSet():
		dp.SetStartTimestamp(start)
		dp.SetDoubleValue(s.sum)
	default: // a counter of records
		dp.SetStartTimestamp(start)
		dp.SetIntValue(int64(s.count))
	}
}

func (s *series) toHistogram(r *rule, dp pmetric.HistogramDataPoint, start, now pcommon.Timestamp) {
	s.attrs.CopyTo(dp.Attributes())
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(now)
	dp.SetCount(s.count)
	dp.SetSum(s.sum)
	if s.count > 0 {
		dp.SetMin(s.min)
		dp.SetMax(s.max)
	}
	dp.ExplicitBounds().FromRaw(r.bounds)
	dp.BucketCounts().FromRaw(s.buckets)
}

func (s *series) toExponentialHistogram(dp pmetric.ExponentialHistogramDataPoint, start, now pcommon.Timestamp) {
	s.attrs.CopyTo(dp.Attributes())
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(now)
	h := s.expo
	dp.SetCount(h.Count())
	dp.SetSum(h.Sum())
	if h.Count() > 0 {
		dp.SetMin(h.Min())
		dp.SetMax(h.Max())
	}
	dp.SetScale(h.Scale())
	dp.SetZeroCount(h.ZeroCount())
	copyBuckets(h.Positive(), dp.Positive())
	copyBuckets(h.Negative(), dp.Negative())
}

func copyBuckets(src *structure.Buckets, dst pmetric.ExponentialHistogramDataPointBuckets) {
	dst.SetOffset(src.Offset())
	counts := dst.BucketCounts()
	counts.EnsureCapacity(int(src.Len()))
	for i := uint32(0); i < src.Len(); i++ {
		counts.Append(src.At(i))
	}
}
