package logstometricsconnector

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
)

// update rewrites the golden outputs (golden.WriteMetrics then fails the run on
// purpose, so a rewrite is never mistaken for a pass): go test -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden output files")

var compareOpts = []pmetrictest.CompareMetricsOption{
	pmetrictest.IgnoreTimestamp(),
	pmetrictest.IgnoreStartTimestamp(),
	pmetrictest.IgnoreResourceMetricsOrder(),
	pmetrictest.IgnoreMetricsOrder(),
	pmetrictest.IgnoreMetricDataPointsOrder(),
}

// newTestConnector builds the connector through the factory with its own
// drain registry, so tests never share the process-wide one.
func newTestConnector(t *testing.T, cfg *Config, next consumer.Metrics, opts ...func(*logsToMetrics)) (*logsToMetrics, error) {
	return newTestConnectorWithSettings(t, connectortest.NewNopSettings(metadata.Type), cfg, next, opts...)
}

func newTestConnectorWithSettings(t *testing.T, set connector.Settings, cfg *Config, next consumer.Metrics, opts ...func(*logsToMetrics)) (*logsToMetrics, error) {
	t.Helper()
	if next == nil {
		next = consumertest.NewNop()
	}
	c, err := createLogsToMetrics(context.Background(), set, cfg, next)
	if err != nil {
		return nil, err
	}
	l := c.(*logsToMetrics)
	l.registry = &lambdalifecycle.Registry{}
	for _, opt := range opts {
		opt(l)
	}
	return l, nil
}

// loadCaseConfig reads testdata/logs/<name>/config.yaml over the defaults.
func loadCaseConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "logs", name, "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

func withTemporality(cfg *Config, temporality Temporality) *Config {
	for i := range cfg.Rules {
		cfg.Rules[i].Temporality = temporality
	}
	return cfg
}

// The input (testdata/logs/input.yaml) mimics jsonlogparse output: two
// resources (inference-fn, batch-fn); records carry event, service,
// model_name, label, duration_ms (int, double, numeric string " 120 ",
// non-numeric "fast", missing, negative -3) and queue_depth (batch-fn's two
// values arrive out of time order); startup records have a map body with
// latency.init_ms (int 250, string "410.5"), and one record has a string
// body and no attributes.
//
// Each case consumes the input, drains, consumes it again and drains: the
// golden file is the second emission, so cumulative outputs hold twice the
// input and delta outputs once.
func TestGolden(t *testing.T) {
	tests := []struct {
		name        string
		temporality Temporality
		fast        bool
	}{
		{"counter", TemporalityCumulative, true},
		{"counter", TemporalityDelta, true},
		{"sum", TemporalityCumulative, true},
		{"sum", TemporalityDelta, true},
		{"histogram", TemporalityCumulative, true},
		{"histogram", TemporalityDelta, true},
		{"exponential_histogram", TemporalityCumulative, true},
		{"exponential_histogram", TemporalityDelta, true},
		{"gauge", TemporalityCumulative, true},
		{"gauge", TemporalityDelta, true},
		{"attributes", TemporalityCumulative, true},
		{"overflow", TemporalityCumulative, true},
		{"body", TemporalityCumulative, true},
		{"ottl", TemporalityCumulative, false},
	}
	input, err := golden.ReadLogs(filepath.Join("testdata", "logs", "input.yaml"))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name+"/"+string(tt.temporality), func(t *testing.T) {
			cfg := withTemporality(loadCaseConfig(t, tt.name), tt.temporality)
			sink := &consumertest.MetricsSink{}
			c, err := newTestConnector(t, cfg, sink)
			require.NoError(t, err)
			assert.Equal(t, tt.fast, c.agg.rules[0].cond.Fast())
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			for range 2 {
				require.NoError(t, c.ConsumeLogs(context.Background(), input))
				require.NoError(t, c.registry.Drain(context.Background(), lambdalifecycle.Blocking))
			}
			require.NoError(t, c.Shutdown(context.Background()))
			if tt.temporality == TemporalityDelta {
				require.Len(t, sink.AllMetrics(), 2, "shutdown has no new delta to emit")
			} else {
				require.Len(t, sink.AllMetrics(), 3, "shutdown emits the cumulative series once more")
				require.NoError(t, pmetrictest.CompareMetrics(sink.AllMetrics()[1], sink.AllMetrics()[2], compareOpts...))
			}

			want := filepath.Join("testdata", "logs", tt.name, string(tt.temporality)+".yaml")
			got := sink.AllMetrics()[1]
			if *update {
				require.NoError(t, golden.WriteMetrics(t, want, got))
			}
			expected, err := golden.ReadMetrics(want)
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(expected, got, compareOpts...))
			if tt.temporality == TemporalityDelta {
				require.NoError(t, pmetrictest.CompareMetrics(sink.AllMetrics()[0], got, compareOpts...),
					"every delta interval saw the same input")
			}
		})
	}
}

// The README's seed example works from the documented config as is.
func TestSeedExample(t *testing.T) {
	cfg, err := loadConfig(t, "config.yaml", "seed")
	require.NoError(t, err)
	input, err := golden.ReadLogs(filepath.Join("testdata", "logs", "input.yaml"))
	require.NoError(t, err)
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeLogs(context.Background(), input))
	require.NoError(t, c.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)

	want := filepath.Join("testdata", "logs", "seed", "output.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, want, sink.AllMetrics()[0]))
	}
	expected, err := golden.ReadMetrics(want)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, sink.AllMetrics()[0], compareOpts...))
}

// fakeClock is the connector's clock in tests; it only moves when told.
type fakeClock struct{ now time.Time }

func (f *fakeClock) Now() time.Time { return f.now }

func (f *fakeClock) advance(d time.Duration) pcommon.Timestamp {
	f.now = f.now.Add(d)
	return pcommon.NewTimestampFromTime(f.now)
}

func withClock(clock *fakeClock) func(*logsToMetrics) {
	return func(c *logsToMetrics) {
		c.now = clock.Now
		c.agg.lastCollect = pcommon.NewTimestampFromTime(clock.now)
	}
}

// record appends a log record with the given attributes to ld's only
// resource (created with service.name=fn on first use).
func record(ld plog.Logs, attrs map[string]any) {
	if ld.ResourceLogs().Len() == 0 {
		ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("service.name", "fn")
		ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	}
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	if err := lr.Attributes().FromRaw(attrs); err != nil {
		panic(err)
	}
}

// Counts, sums and bucket counts stay exact over many batches and drains:
// the expected values are computed independently from the same values.
func TestExactAcrossBatchesAndDrains(t *testing.T) {
	bounds := []float64{10, 100, 1000}
	newCfg := func(temporality Temporality) *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Rules = []RuleConfig{
			{Name: "n", Kind: KindCounter, Temporality: temporality, Conditions: []string{`attributes["ok"] == true`}, Attributes: []AttributeConfig{{Key: "k"}}},
			{Name: "s", Kind: KindCounter, Temporality: temporality, Value: path(t, `attributes["v"]`), Attributes: []AttributeConfig{{Key: "k"}}},
			{Name: "h", Kind: KindHistogram, Temporality: temporality, Value: path(t, `attributes["v"]`), Buckets: bounds, Attributes: []AttributeConfig{{Key: "k"}}},
			{Name: "e", Kind: KindExponentialHistogram, Temporality: temporality, Value: path(t, `attributes["v"]`), Attributes: []AttributeConfig{{Key: "k"}}},
		}
		return cfg
	}
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			sink := &consumertest.MetricsSink{}
			c, err := newTestConnector(t, newCfg(temporality), sink)
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			want := map[string]*totals{"a": {}, "b": {}, "c": {}}
			got := map[string]*totals{"a": {}, "b": {}, "c": {}}
			keys := []string{"a", "b", "c"}
			n := 0
			for drain := range 20 {
				for range 7 {
					ld := plog.NewLogs()
					for range 50 {
						n++
						k := keys[n%3]
						// Quarters keep every float sum exact, and some values
						// fall exactly on a bound (upper bounds are inclusive).
						v := float64(n%4400) / 4
						ok := n%4 != 0
						record(ld, map[string]any{"k": k, "v": v, "ok": ok})
						w := want[k]
						w.count++
						w.sum += v
						if ok {
							w.okCount++
						}
						b := 0
						for b < len(bounds) && v > bounds[b] {
							b++
						}
						w.buckets[b]++
					}
					require.NoError(t, c.ConsumeLogs(context.Background(), ld))
				}
				require.NoError(t, c.registry.Drain(context.Background(), lambdalifecycle.Blocking))
				md := sink.AllMetrics()[drain]
				if temporality == TemporalityCumulative {
					got = map[string]*totals{"a": {}, "b": {}, "c": {}}
				}
				addEmission(t, md, got)
			}
			require.NoError(t, c.Shutdown(context.Background()))
			if temporality == TemporalityDelta {
				assert.Len(t, sink.AllMetrics(), 20)
			} else {
				assert.Len(t, sink.AllMetrics(), 21)
			}
			for _, k := range keys {
				assert.Equal(t, *want[k], *got[k], "series k=%s", k)
			}
		})
	}
}

// totals are one series' expected or observed values.
type totals struct {
	count, okCount int64
	sum            float64
	buckets        [4]uint64
}

// addEmission adds one emission's data points to got, per attribute k, and
// checks that the exponential histogram agrees with the explicit one.
func addEmission(t *testing.T, md pmetric.Metrics, got map[string]*totals) {
	t.Helper()
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		m := ms.At(i)
		switch m.Name() {
		case "n":
			for _, dp := range m.Sum().DataPoints().All() {
				k, _ := dp.Attributes().Get("k")
				got[k.Str()].okCount += dp.IntValue()
			}
		case "s":
			for _, dp := range m.Sum().DataPoints().All() {
				k, _ := dp.Attributes().Get("k")
				got[k.Str()].sum += dp.DoubleValue()
			}
		case "h":
			for _, dp := range m.Histogram().DataPoints().All() {
				k, _ := dp.Attributes().Get("k")
				g := got[k.Str()]
				g.count += int64(dp.Count())
				for b, n := range dp.BucketCounts().All() {
					g.buckets[b] += n
				}
			}
		case "e":
			for _, dp := range m.ExponentialHistogram().DataPoints().All() {
				var inBuckets uint64
				for _, n := range dp.Positive().BucketCounts().All() {
					inBuckets += n
				}
				assert.Equal(t, dp.Count(), inBuckets+dp.ZeroCount())
			}
		}
	}
}

func counterValue(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

// Values beyond the cardinality limit land in one overflow series, nothing
// is lost, and the internal counter says how many records went there.
// Missing, non-numeric and negative values are skipped and counted.
func TestOverflowAndSkippedTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()

	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{{
		Name: "total", Kind: KindCounter, Value: path(t, `attributes["v"]`), CardinalityLimit: 3,
		Attributes: []AttributeConfig{{Key: "user"}},
	}}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnectorWithSettings(t, set, cfg, sink)
	require.NoError(t, err)

	ld := plog.NewLogs()
	for i := range 10 {
		record(ld, map[string]any{"user": int64(i), "v": 1})
	}
	record(ld, map[string]any{"user": int64(0)})                // missing
	record(ld, map[string]any{"user": int64(0), "v": "n/a"})    // non-numeric
	record(ld, map[string]any{"user": int64(0), "v": true})     // non-numeric
	record(ld, map[string]any{"user": int64(0), "v": -2})       // negative
	record(ld, map[string]any{"user": int64(0), "v": "2.5e1 "}) // numeric string
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.Shutdown(context.Background()))

	require.Len(t, sink.AllMetrics(), 1)
	dps := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	require.Equal(t, 4, dps.Len(), "three series and the overflow series")
	var total float64
	for _, dp := range dps.All() {
		total += dp.DoubleValue()
		if v, ok := dp.Attributes().Get(overflowKey); ok {
			assert.True(t, v.Bool())
			assert.Equal(t, 1, dp.Attributes().Len(), "the overflow series has no other attributes")
			assert.Equal(t, 7.0, dp.DoubleValue())
		}
	}
	assert.Equal(t, 10.0+25, total)

	metricAttr := attribute.String("metric", "total")
	assert.Equal(t, int64(7), counterValue(t, tel, "otelcol.logstometrics.overflow_records", metricAttr))
	for reason, n := range map[string]int64{"missing_field": 1, "non_numeric": 2, "negative_value": 1} {
		assert.Equal(t, n, counterValue(t, tel, "otelcol.logstometrics.records_skipped", metricAttr, attribute.String("reason", reason)), reason)
	}
}

// Cumulative series keep the start time of their creation; delta points
// start where the previous emission ended.
func TestStartTimes(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
			cfg := createDefaultConfig().(*Config)
			cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter, Temporality: temporality}}
			sink := &consumertest.MetricsSink{}
			c, err := newTestConnector(t, cfg, sink, withClock(clock))
			require.NoError(t, err)

			created := clock.advance(time.Second)
			ld := plog.NewLogs()
			record(ld, nil)
			var ends []pcommon.Timestamp
			for range 3 {
				require.NoError(t, c.ConsumeLogs(context.Background(), ld))
				ends = append(ends, clock.advance(time.Second))
				require.NoError(t, c.emit(context.Background(), lambdalifecycle.Blocking))
			}
			require.Len(t, sink.AllMetrics(), 3)
			for i, md := range sink.AllMetrics() {
				dp := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
				assert.Equal(t, ends[i], dp.Timestamp())
				if temporality == TemporalityCumulative {
					assert.Equal(t, created, dp.StartTimestamp())
					assert.Equal(t, int64(i+1), dp.IntValue())
					continue
				}
				wantStart := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0))
				if i > 0 {
					wantStart = ends[i-1]
				}
				assert.Equal(t, wantStart, dp.StartTimestamp())
				assert.Equal(t, int64(1), dp.IntValue())
			}
		})
	}
}

// Resource attributes carry over, and each resource is its own series.
func TestResourcesStayApart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter}}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	ld := plog.NewLogs()
	for _, fn := range []string{"a", "b", "a"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		rl.Resource().Attributes().PutStr("service.name", fn)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.Shutdown(context.Background()))
	md := sink.AllMetrics()[0]
	require.Equal(t, 2, md.ResourceMetrics().Len())
	counts := map[string]int64{}
	for _, rm := range md.ResourceMetrics().All() {
		fn, _ := rm.Resource().Attributes().Get("service.name")
		assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rm.SchemaUrl())
		assert.Equal(t, metadata.ScopeName, rm.ScopeMetrics().At(0).Scope().Name())
		counts[fn.Str()] = rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).IntValue()
	}
	assert.Equal(t, map[string]int64{"a": 2, "b": 1}, counts)
}

// With error_mode propagate a failing condition returns one permanent error
// (a retry would count the rest twice) and the other records still count.
func TestPropagateConditionError(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ErrorMode = "propagate"
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter, Conditions: []string{`Int(attributes["code"]) > 400`}}}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	ld := plog.NewLogs()
	record(ld, map[string]any{"code": "500"})
	record(ld, map[string]any{"code": map[string]any{"not": "a number"}})
	record(ld, map[string]any{"code": int64(503)})
	err = c.ConsumeLogs(context.Background(), ld)
	require.ErrorContains(t, err, `rule "n": 1 records failed its conditions`)
	assert.True(t, consumererror.IsPermanent(err))
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, int64(2), sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).IntValue())
}

// A refused emission loses delta points, and the counter says so; a
// cumulative series is sent again, whole, at the next emission.
func TestEmitFailure(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{
		{Name: "d", Kind: KindCounter, Temporality: TemporalityDelta},
		{Name: "c", Kind: KindCounter},
	}
	refuse := true
	next, sink := refusing(t, &refuse)
	c, err := newTestConnectorWithSettings(t, set, cfg, next)
	require.NoError(t, err)
	ld := plog.NewLogs()
	record(ld, nil)
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.ErrorContains(t, c.emit(context.Background(), lambdalifecycle.Blocking), "backend down")
	assert.Equal(t, int64(1), counterValue(t, tel, "otelcol.logstometrics.dropped_data_points"))

	refuse = false
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.Shutdown(context.Background()))
	values := map[string]int64{}
	for _, m := range sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		values[m.Name()] = m.Sum().DataPoints().At(0).IntValue()
	}
	assert.Equal(t, map[string]int64{"d": 1, "c": 2}, values)
}

// refusing is a next consumer that refuses while *refuse is set and
// otherwise keeps what it gets in sink.
func refusing(t *testing.T, refuse *bool) (consumer.Metrics, *consumertest.MetricsSink) {
	sink := &consumertest.MetricsSink{}
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		if *refuse {
			return errors.New("backend down")
		}
		return sink.ConsumeMetrics(ctx, md)
	})
	require.NoError(t, err)
	return next, sink
}

// Start registers the drain hook at the aggregate stage, Shutdown removes it
// and emits what is left; Shutdown works without Start.
func TestLifecycle(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter}}

	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Empty(t, sink.AllMetrics())

	c, err = newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, 1, c.registry.Len())
	ld := plog.NewLogs()
	record(ld, nil)
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.registry.Drain(context.Background(), lambdalifecycle.Blocking))
	require.Len(t, sink.AllMetrics(), 1, "the drain hook emits synchronously")
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, 0, c.registry.Len())
	require.Len(t, sink.AllMetrics(), 2, "shutdown emits what is left")
}

// flush_interval emits without any drain, from a goroutine that Shutdown
// stops.
func TestFlushInterval(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.FlushInterval = time.Millisecond
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter, Temporality: TemporalityDelta}}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	ld := plog.NewLogs()
	record(ld, nil)
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	assert.Eventually(t, func() bool { return sink.DataPointCount() == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, 1, sink.DataPointCount())
}

// A delta series that saw nothing for a whole interval is not emitted and
// is then forgotten, which frees its place under the cardinality limit.
func TestDeltaIdleSeries(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{
		{Name: "n", Kind: KindCounter, Temporality: TemporalityDelta, CardinalityLimit: 1, Attributes: []AttributeConfig{{Key: "k"}}},
		{Name: "g", Kind: KindGauge, Temporality: TemporalityDelta, Value: path(t, `attributes["v"]`)},
	}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	batch := func(k string) plog.Logs {
		ld := plog.NewLogs()
		record(ld, map[string]any{"k": k, "v": 1})
		return ld
	}
	points := func(md pmetric.Metrics) map[string]int {
		out := map[string]int{}
		for _, rm := range md.ResourceMetrics().All() {
			for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
				if m.Type() == pmetric.MetricTypeGauge {
					out[m.Name()] = m.Gauge().DataPoints().Len()
				} else {
					out[m.Name()] = m.Sum().DataPoints().Len()
				}
			}
		}
		return out
	}

	require.NoError(t, c.ConsumeLogs(context.Background(), batch("a")))
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Blocking)) // a
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Blocking)) // nothing new: a goes idle, then is forgotten
	require.NoError(t, c.ConsumeLogs(context.Background(), batch("b")))
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Blocking)) // b has a's place, no overflow
	require.NoError(t, c.ConsumeLogs(context.Background(), batch("c")))
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Blocking)) // b is still held: c overflows

	all := sink.AllMetrics()
	require.Len(t, all, 3, "the idle emission sends nothing")
	assert.Equal(t, map[string]int{"n": 1, "g": 1}, points(all[0]))
	dp := all[1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, map[string]any{"k": "b"}, dp.Attributes().AsRaw())
	dp = all[2].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, map[string]any{overflowKey: true}, dp.Attributes().AsRaw())
}

// Condition errors under error_mode propagate are counted by rule.
func TestConditionErrorTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := createDefaultConfig().(*Config)
	cfg.ErrorMode = "propagate"
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter, Conditions: []string{`Int(attributes["code"]) > 400`}}}
	c, err := newTestConnectorWithSettings(t, set, cfg, nil)
	require.NoError(t, err)
	ld := plog.NewLogs()
	record(ld, map[string]any{"code": map[string]any{}})
	record(ld, map[string]any{"code": []any{1}})
	require.Error(t, c.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, int64(2), counterValue(t, tel, "otelcol.logstometrics.records_skipped",
		attribute.String("metric", "n"), attribute.String("reason", "condition_error")))
}

// One Drain delivers logs that an upstream buffer (StageBuffer, like the
// decouple processor) releases during that same drain: this connector's hook
// runs after it, at StageAggregate.
func TestDrainAfterUpstreamBuffer(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter, Temporality: TemporalityDelta}}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink)
	require.NoError(t, err)
	held := plog.NewLogs()
	record(held, nil)
	record(held, nil)
	// Registered after the connector starts, yet it runs first: stages order
	// hooks, not registration.
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	unregister := c.registry.Register("buffer", lambdalifecycle.StageBuffer, func(ctx context.Context, _ lambdalifecycle.Mode) error {
		return c.ConsumeLogs(ctx, held)
	})
	defer unregister()
	require.NoError(t, c.registry.Drain(context.Background(), lambdalifecycle.Blocking))
	require.Len(t, sink.AllMetrics(), 1)
	assert.Equal(t, int64(2), sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).IntValue())
	require.NoError(t, c.Shutdown(context.Background()))
}

// max_stale forgets cumulative series not updated for that long, and a
// resource once none of its series remain; the counts go to the collector's
// telemetry and ride along with the data under the collector's resource.
// A series that comes back starts again, with a new start time.
func TestMaxStale(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Resource.Attributes().PutStr("service.name", "otelcol-gateway")

	cfg := createDefaultConfig().(*Config)
	cfg.MaxStale = 3 * time.Minute
	cfg.Rules = []RuleConfig{
		{Name: "n", Kind: KindCounter, Attributes: []AttributeConfig{{Key: "k"}}},
		{Name: "d", Kind: KindCounter, Temporality: TemporalityDelta},
	}
	clock := &fakeClock{now: time.Unix(1_764_000_000, 0)}
	t0 := pcommon.NewTimestampFromTime(clock.now)
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnectorWithSettings(t, set, cfg, sink, withClock(clock))
	require.NoError(t, err)
	consume := func(fn string, keys ...string) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fn)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for _, k := range keys {
			lrs.AppendEmpty().Attributes().PutStr("k", k)
		}
		require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	}
	type point struct {
		value int64
		start pcommon.Timestamp
	}
	// emit returns fn/k -> point of n, and the expiry counts carried in-band
	// (nil when the emission had none).
	emit := func() (map[string]point, map[string]int64) {
		before := len(sink.AllMetrics())
		require.NoError(t, c.emit(context.Background(), lambdalifecycle.Background))
		if len(sink.AllMetrics()) == before {
			return nil, nil
		}
		points, expiry := map[string]point{}, map[string]int64{}
		for _, rm := range sink.AllMetrics()[before].ResourceMetrics().All() {
			fn, _ := rm.Resource().Attributes().Get("service.name")
			for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
				for _, dp := range m.Sum().DataPoints().All() {
					switch m.Name() {
					case "n":
						k, _ := dp.Attributes().Get("k")
						points[fn.Str()+"/"+k.Str()] = point{dp.IntValue(), dp.StartTimestamp()}
					case expiredSeriesMetric:
						assert.Equal(t, "otelcol-gateway", fn.Str())
						assert.Equal(t, map[string]any{"metric": "n"}, dp.Attributes().AsRaw(), "delta rules forget idle series by themselves")
						expiry["series"] = dp.IntValue()
					case expiredResourcesMetric:
						expiry["resources"] = dp.IntValue()
					}
				}
			}
		}
		return points, expiry
	}

	consume("fn-a", "a", "b")
	consume("fn-b", "a")
	points, expiry := emit()
	assert.Equal(t, map[string]point{"fn-a/a": {1, t0}, "fn-a/b": {1, t0}, "fn-b/a": {1, t0}}, points)
	assert.Equal(t, map[string]int64{"series": 0, "resources": 0}, expiry, "zeros are sent, so the first increase is seen")

	clock.advance(2 * time.Minute)
	consume("fn-a", "a")
	points, expiry = emit()
	assert.Equal(t, map[string]point{"fn-a/a": {2, t0}, "fn-a/b": {1, t0}, "fn-b/a": {1, t0}}, points)
	assert.Equal(t, map[string]int64{"series": 0, "resources": 0}, expiry)

	clock.advance(2 * time.Minute) // fn-a/b and fn-b/a were last updated 4 minutes ago
	points, expiry = emit()
	assert.Equal(t, map[string]point{"fn-a/a": {2, t0}}, points)
	assert.Equal(t, map[string]int64{"series": 2, "resources": 1}, expiry)
	assert.Equal(t, int64(2), counterValue(t, tel, expiredSeriesMetric, attribute.String("metric", "n")))
	assert.Equal(t, int64(1), counterValue(t, tel, expiredResourcesMetric))

	back := clock.advance(time.Minute)
	consume("fn-a", "b")
	points, _ = emit()
	assert.Equal(t, map[string]point{"fn-a/a": {2, t0}, "fn-a/b": {1, back}}, points, "a series that comes back starts again")

	clock.advance(10 * time.Minute)
	points, expiry = emit()
	assert.Empty(t, points)
	assert.Equal(t, map[string]int64{"series": 4, "resources": 2}, expiry, "the emission after an expiry carries the counts alone")
	assert.Empty(t, c.agg.resources)
	points, expiry = emit()
	assert.Nil(t, points, "nothing left and nothing new: no emission")
	assert.Nil(t, expiry)
	assert.Equal(t, int64(4), counterValue(t, tel, expiredSeriesMetric, attribute.String("metric", "n")))
	assert.Equal(t, int64(2), counterValue(t, tel, expiredResourcesMetric))
}

// Without max_stale, cumulative series live as long as the process, and
// emissions carry no expiry counts.
func TestNoMaxStale(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Rules = []RuleConfig{{Name: "n", Kind: KindCounter}}
	clock := &fakeClock{now: time.Unix(1_764_000_000, 0)}
	sink := &consumertest.MetricsSink{}
	c, err := newTestConnector(t, cfg, sink, withClock(clock))
	require.NoError(t, err)
	ld := plog.NewLogs()
	record(ld, nil)
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	clock.advance(1000 * time.Hour)
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Background))
	require.Len(t, sink.AllMetrics(), 1)
	md := sink.AllMetrics()[0]
	require.Equal(t, 1, md.ResourceMetrics().Len())
	assert.Equal(t, "n", md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name())
	assert.Equal(t, 1, md.DataPointCount())
}

// With only delta rules the in-band counts hold the resources alone, and
// counts an emission could not deliver go out again with the next one.
func TestMaxStaleDeltaOnlyAndRefusedEmission(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxStale = time.Minute
	cfg.Rules = []RuleConfig{{Name: "d", Kind: KindCounter, Temporality: TemporalityDelta}}
	refuse := false
	next, sink := refusing(t, &refuse)
	c, err := newTestConnector(t, cfg, next)
	require.NoError(t, err)
	ld := plog.NewLogs()
	record(ld, nil)
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Background)) // the point goes out
	refuse = true
	require.Error(t, c.emit(context.Background(), lambdalifecycle.Background)) // idle: the resource is forgotten, the count refused
	refuse = false
	require.NoError(t, c.emit(context.Background(), lambdalifecycle.Background))
	require.Len(t, sink.AllMetrics(), 2, "the refused counts went out with the next emission")
	rms := sink.AllMetrics()[1].ResourceMetrics()
	require.Equal(t, 1, rms.Len())
	ms := rms.At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, 1, ms.Len(), "no expired_series metric without a cumulative rule")
	assert.Equal(t, expiredResourcesMetric, ms.At(0).Name())
	assert.Equal(t, int64(1), ms.At(0).Sum().DataPoints().At(0).IntValue())
}
