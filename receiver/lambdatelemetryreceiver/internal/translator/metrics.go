package translator

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

// Metric names follow the OTel FaaS semantic conventions where one exists;
// the rest live under aws.lambda.* and otelcol.lambdatelemetry.* (the
// receiver's own losses, exported with the data so loss is never silent).
const (
	MetricInvokeDuration      = "faas.invoke_duration"
	MetricInitDuration        = "faas.init_duration"
	MetricInvocations         = "faas.invocations"
	MetricErrors              = "faas.errors"
	MetricTimeouts            = "faas.timeouts"
	MetricColdStarts          = "faas.coldstarts"
	MetricMemUsage            = "faas.mem_usage"
	MetricMemUtilization      = "aws.lambda.memory.utilization"
	MetricBilledDuration      = "aws.lambda.billed_duration"
	MetricProducedBytes       = "aws.lambda.produced_bytes"
	MetricPostRuntimeDuration = "aws.lambda.post_runtime_duration"
	MetricDroppedRecords      = "aws.lambda.telemetry.dropped_records"
	MetricDroppedBytes        = "aws.lambda.telemetry.dropped_bytes"
	MetricRejectedBatches     = "otelcol.lambdatelemetry.rejected_batches"
	MetricOversizedBatches    = "otelcol.lambdatelemetry.oversized_batches"
	MetricRuntimeDoneMissed   = "otelcol.lambdatelemetry.runtime_done_missed"
	MetricFlushFailures       = "otelcol.lambdatelemetry.flush_failures"
	MetricTruncatedRecords    = "otelcol.lambdatelemetry.truncated_records"
	MetricDuplicateRecords    = "otelcol.lambdatelemetry.duplicate_records"
	MetricHeapReleases        = "otelcol.lambdatelemetry.heap_releases"
	MetricCatchUpFlushes      = "otelcol.lambdatelemetry.catch_up_flushes"
	MetricUnattributedRecords = "otelcol.lambdatelemetry.unattributed_records"
	MetricInvocationsInFlight = "aws.lambda.invocations_in_flight"
)

// durationBounds (seconds) cover Lambda's range: 1 ms to its 15 min limit.
var durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// memoryBounds (bytes) span Lambda's 128 MB to 10 GB.
var memoryBounds = []float64{64 << 20, 128 << 20, 256 << 20, 512 << 20, 1 << 30, 2 << 30, 4 << 30, 8 << 30, 10 << 30}

type kind int

const (
	kindIntSum kind = iota
	kindDoubleSum
	kindHistogram
	kindGauge
)

type instrument struct {
	name, unit, desc string
	kind             kind
	bounds           []float64

	touched bool // has data since the last delta emission (or ever, when cumulative)
	sum     float64
	count   uint64
	min     float64
	max     float64
	buckets []uint64
	last    float64
}

func (m *instrument) add(v float64) {
	m.touched = true
	m.sum += v
}

func (m *instrument) record(v float64) {
	if m.count == 0 || v < m.min {
		m.min = v
	}
	if m.count == 0 || v > m.max {
		m.max = v
	}
	m.touched = true
	m.count++
	m.sum += v
	if m.buckets == nil {
		m.buckets = make([]uint64, len(m.bounds)+1)
	}
	i, _ := slices.BinarySearch(m.bounds, v)
	m.buckets[i]++
}

func (m *instrument) set(v float64) {
	m.touched = true
	m.last = v
}

// setMax sets a gauge to v unless it holds more since the last emission.
func (m *instrument) setMax(v float64) {
	if !m.touched || v > m.last {
		m.set(v)
	}
}

func (m *instrument) reset() {
	m.touched = false
	m.sum, m.count, m.min, m.max, m.last = 0, 0, 0, 0, 0
	clear(m.buckets)
}

// instruments accumulates the receiver's metrics between flushes.
type instruments struct {
	cumulative bool
	// processStart is when counting began; start moves with delta emissions.
	processStart pcommon.Timestamp
	start        pcommon.Timestamp
	list         []*instrument
	byName       map[string]*instrument
}

func newInstruments(cumulative bool, start pcommon.Timestamp) *instruments {
	in := &instruments{cumulative: cumulative, processStart: start, start: start, byName: map[string]*instrument{}}
	for _, m := range []*instrument{
		{name: MetricInvokeDuration, unit: "s", desc: "Duration of the function's handler, from platform.runtimeDone.", kind: kindHistogram, bounds: durationBounds},
		{name: MetricInitDuration, unit: "s", desc: "Duration of the init phase, from platform.initReport.", kind: kindHistogram, bounds: durationBounds},
		{name: MetricInvocations, unit: "{invocation}", desc: "Invocations.", kind: kindIntSum},
		{name: MetricErrors, unit: "{error}", desc: "Invocations that ended in error or failure.", kind: kindIntSum},
		{name: MetricTimeouts, unit: "{timeout}", desc: "Invocations that timed out.", kind: kindIntSum},
		{name: MetricColdStarts, unit: "{coldstart}", desc: "Invocations that started a new execution environment.", kind: kindIntSum},
		{name: MetricMemUsage, unit: "By", desc: "Maximum memory used per invocation, from platform.report.", kind: kindHistogram, bounds: memoryBounds},
		{name: MetricMemUtilization, unit: "1", desc: "Maximum memory used by the last reported invocation over the configured memory.", kind: kindGauge},
		{name: MetricBilledDuration, unit: "s", desc: "Billed duration, from platform.report.", kind: kindDoubleSum},
		{name: MetricProducedBytes, unit: "By", desc: "Bytes of the function's responses.", kind: kindIntSum},
		{name: MetricPostRuntimeDuration, unit: "s", desc: "Time extensions ran after the runtime's response (report duration minus runtime duration).", kind: kindHistogram, bounds: durationBounds},
		{name: MetricDroppedRecords, unit: "{record}", desc: "Telemetry records Lambda dropped (platform.logsDropped).", kind: kindIntSum},
		{name: MetricDroppedBytes, unit: "By", desc: "Telemetry bytes Lambda dropped (platform.logsDropped).", kind: kindIntSum},
		{name: MetricRejectedBatches, unit: "{batch}", desc: "Telemetry API deliveries rejected as malformed.", kind: kindIntSum},
		{name: MetricOversizedBatches, unit: "{batch}", desc: "Telemetry API deliveries refused as larger than max_request_body_size.", kind: kindIntSum},
		{name: MetricRuntimeDoneMissed, unit: "{invocation}", desc: "Invocations whose platform.runtimeDone did not arrive before the wait ended.", kind: kindIntSum},
		{name: MetricFlushFailures, unit: "{flush}", desc: "Flushes before freeze or shutdown in which a consumer or drain hook failed.", kind: kindIntSum},
		{name: MetricTruncatedRecords, unit: "{record}", desc: "Log records cut to max_record_bytes.", kind: kindIntSum},
		{name: MetricDuplicateRecords, unit: "{record}", desc: "Telemetry API records discarded because Lambda delivered their batch again.", kind: kindIntSum},
		{name: MetricHeapReleases, unit: "{release}", desc: "Times the process's heap was returned to the OS after a burst (heap_release_slack).", kind: kindIntSum},
		{name: MetricCatchUpFlushes, unit: "{invocation}", desc: "Invocations of the adaptive strategy that waited for exports which had fallen behind (flush.export_budget at most).", kind: kindIntSum},
		{name: MetricUnattributedRecords, unit: "{record}", desc: "Log lines without a request id delivered while several invocations were in flight (Lambda Managed Instances): kept without an invocation.", kind: kindIntSum},
		{name: MetricInvocationsInFlight, unit: "{invocation}", desc: "Most invocations in flight at once (platform.start seen, platform.runtimeDone not yet) since the last emission (Lambda Managed Instances).", kind: kindGauge},
	} {
		in.list = append(in.list, m)
		in.byName[m.name] = m
	}
	return in
}

func (in *instruments) get(name string) *instrument { return in.byName[name] }

// emit appends every instrument with data to sm. Delta instruments are reset
// and get start = the previous emission.
func (in *instruments) emit(sm pmetric.ScopeMetrics, now pcommon.Timestamp) {
	for _, m := range in.list {
		if !m.touched {
			continue
		}
		out := sm.Metrics().AppendEmpty()
		out.SetName(m.name)
		out.SetUnit(m.unit)
		out.SetDescription(m.desc)
		temporality := pmetric.AggregationTemporalityDelta
		if in.cumulative {
			temporality = pmetric.AggregationTemporalityCumulative
		}
		switch m.kind {
		case kindIntSum, kindDoubleSum:
			s := out.SetEmptySum()
			s.SetIsMonotonic(true)
			s.SetAggregationTemporality(temporality)
			dp := s.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(in.start)
			dp.SetTimestamp(now)
			if m.kind == kindIntSum {
				dp.SetIntValue(int64(m.sum))
			} else {
				dp.SetDoubleValue(m.sum)
			}
		case kindHistogram:
			h := out.SetEmptyHistogram()
			h.SetAggregationTemporality(temporality)
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(in.start)
			dp.SetTimestamp(now)
			dp.SetCount(m.count)
			dp.SetSum(m.sum)
			dp.SetMin(m.min)
			dp.SetMax(m.max)
			dp.ExplicitBounds().FromRaw(m.bounds)
			dp.BucketCounts().FromRaw(m.buckets)
		case kindGauge:
			dp := out.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetTimestamp(now)
			dp.SetDoubleValue(m.last)
		}
		if !in.cumulative || m.kind == kindGauge {
			m.reset()
		}
	}
	if !in.cumulative {
		in.start = now
	}
}

// emitStats appends the stats other components report (lambdalifecycle):
// counts as cumulative integer sums since start (they count from their
// component's start, whatever this receiver's temporality), the rest as
// gauges; points of one name share a metric.
func emitStats(sm pmetric.ScopeMetrics, stats []lambdalifecycle.Stat, start, now pcommon.Timestamp) {
	byName := map[string]pmetric.Metric{}
	for _, st := range stats {
		m, ok := byName[st.Name]
		if !ok {
			m = sm.Metrics().AppendEmpty()
			m.SetName(st.Name)
			m.SetUnit(st.Unit)
			m.SetDescription(st.Description)
			if st.Cumulative {
				s := m.SetEmptySum()
				s.SetIsMonotonic(true)
				s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			} else {
				m.SetEmptyGauge()
			}
			byName[st.Name] = m
		}
		var dp pmetric.NumberDataPoint
		if st.Cumulative {
			dp = m.Sum().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetIntValue(int64(st.Value))
		} else {
			dp = m.Gauge().DataPoints().AppendEmpty()
			dp.SetDoubleValue(st.Value)
		}
		dp.SetTimestamp(now)
		for k, v := range st.Attributes {
			dp.Attributes().PutStr(k, v)
		}
	}
}
