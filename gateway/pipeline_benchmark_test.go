// Package gateway_test measures the gateway's logs → parse → metrics
// pipeline against the same pipeline built from contrib components.
package gateway_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"
)

const batchRecords = 256

// rawBatch is one environment's batch as a layer sends it unparsed: JSON
// lines as log bodies, 70% inference_success over 3 services x 4 models x 5
// labels. It also returns how many are inference_success.
func rawBatch() (plog.Logs, int) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "inference-fn")
	rl.Resource().Attributes().PutStr("service.instance.id", "2026/12/08/[$LATEST]0123456789abcdef")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	services := []string{"api", "batch", "stream"}
	models := []string{"resnet50", "bert-base", "whisper-small", "clip"}
	labels := []string{"cat", "dog", "bird", "car", "tree"}
	successes := 0
	for i := range batchRecords {
		event := "inference_success"
		if i%10 >= 7 {
			event = "cache_refresh"
		} else {
			successes++
		}
		lrs.AppendEmpty().Body().SetStr(fmt.Sprintf(
			`{"level":"info","message":"request handled","event":%q,"request_id":"8f14e45f-ceea-467f-a0e6-%012d","service":%q,"model_name":%q,"label":%q,"duration_ms":%d}`,
			event, i, services[i%3], models[i%4], labels[i%5], 5+i*7%900))
	}
	return ld, successes
}

var seedAttributes = []any{map[string]any{"key": "service"}, map[string]any{"key": "model_name"}, map[string]any{"key": "label"}}

var seedBuckets = []any{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

const seedCondition = `attributes["event"] == "inference_success"`

func configured(t testing.TB, f component.Factory, raw map[string]any) component.Config {
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

// pipeline is a parse processor whose next consumer is a logs-to-metrics
// connector, as in the gateway's logs pipeline.
type pipeline struct {
	first  consumer.Logs
	drains bool // logstometrics emits on the drain hook, once per op
}

func ours(b testing.TB, next consumer.Metrics) pipeline {
	cf := logstometricsconnector.NewFactory()
	conn, err := cf.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(cf.Type()), configured(b, cf, map[string]any{
		"rules": []any{map[string]any{
			"name": "inference_duration_ms", "unit": "ms", "kind": "histogram",
			"conditions": []any{seedCondition}, "value": `attributes["duration_ms"]`,
			"buckets": seedBuckets, "attributes": seedAttributes,
		}},
	}), next)
	require.NoError(b, err)
	pf := jsonlogparseprocessor.NewFactory()
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), conn)
	require.NoError(b, err)
	start(b, conn, proc)
	return pipeline{first: proc, drains: true}
}

// contrib parses with transform's ParseJSON merged into the attributes
// (the least OTTL that makes the fields usable: no severity, time or trace
// context, which jsonlogparse also sets) and derives with signal_to_metrics.
func contrib(b testing.TB, next consumer.Metrics) pipeline {
	cf := signaltometricsconnector.NewFactory()
	conn, err := cf.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(cf.Type()), configured(b, cf, map[string]any{
		"logs": []any{map[string]any{
			"name": "inference_duration_ms", "unit": "ms",
			"conditions": []any{seedCondition}, "attributes": seedAttributes,
			"histogram": map[string]any{"buckets": seedBuckets, "value": `Double(attributes["duration_ms"])`},
		}},
	}), next)
	require.NoError(b, err)
	pf := transformprocessor.NewFactory()
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), configured(b, pf, map[string]any{
		"error_mode": "ignore",
		"log_statements": []any{map[string]any{"context": "log", "statements": []any{
			`merge_maps(log.attributes, ParseJSON(log.body), "upsert") where IsString(log.body) and IsMatch(log.body, "^[ \\t\\r\\n]*\\{")`,
		}}},
	}), conn)
	require.NoError(b, err)
	start(b, conn, proc)
	return pipeline{first: proc}
}

func start(b testing.TB, conn connector.Logs, proc processor.Logs) {
	host := componenttest.NewNopHost()
	require.NoError(b, conn.Start(context.Background(), host))
	require.NoError(b, proc.Start(context.Background(), host))
	b.Cleanup(func() {
		require.NoError(b, proc.Shutdown(context.Background()))
		require.NoError(b, conn.Shutdown(context.Background()))
	})
}

// Both pipelines do the same job on the benchmark batch: the histogram
// they derive holds every inference_success, with the same sum.
func TestPipelinesAgree(t *testing.T) {
	raw, successes := rawBatch()
	var sums, counts []float64
	for _, build := range []func(testing.TB, consumer.Metrics) pipeline{ours, contrib} {
		sink := &consumertest.MetricsSink{}
		p := build(t, sink)
		ld := plog.NewLogs()
		raw.CopyTo(ld)
		require.NoError(t, p.first.ConsumeLogs(context.Background(), ld))
		if p.drains {
			require.NoError(t, lambdalifecycle.Default.Drain(context.Background(), lambdalifecycle.Blocking))
		}
		var sum, count float64
		for _, md := range sink.AllMetrics() {
			for _, rm := range md.ResourceMetrics().All() {
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						require.Equal(t, "inference_duration_ms", m.Name())
						for _, dp := range m.Histogram().DataPoints().All() {
							sum += dp.Sum()
							count += float64(dp.Count())
						}
					}
				}
			}
		}
		sums, counts = append(sums, sum), append(counts, count)
	}
	require.Equal(t, float64(successes), counts[0], "every inference_success")
	require.Equal(t, counts[0], counts[1])
	require.Equal(t, sums[0], sums[1])
}

// BenchmarkGatewayPipeline: one op is one raw batch through parse and
// derive (a fresh copy each time: both processors change the records),
// with this project's connector draining once per op as its flush_interval
// would per interval; the contrib connector emits inside every ConsumeLogs.
// One goroutine: records/s per core is 1e9 / ns/record.
func BenchmarkGatewayPipeline(b *testing.B) {
	raw, _ := rawBatch()
	for _, tc := range []struct {
		name string
		new  func(testing.TB, consumer.Metrics) pipeline
	}{{"jsonlogparse+logstometrics", ours}, {"transform+signal_to_metrics", contrib}} {
		b.Run(tc.name, func(b *testing.B) {
			p := tc.new(b, consumertest.NewNop())
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				ld := plog.NewLogs()
				raw.CopyTo(ld)
				if err := p.first.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
				if p.drains {
					if err := lambdalifecycle.Default.Drain(ctx, lambdalifecycle.Blocking); err != nil {
						b.Fatal(err)
					}
				}
			}
			runtime.ReadMemStats(&after)
			records := float64(b.N) * batchRecords
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
			b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
		})
	}
}
