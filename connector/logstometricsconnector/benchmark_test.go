package logstometricsconnector

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector"
)

// benchRecords is one batch: the Lambda Telemetry API delivers logs in
// batches, and the connector drains once per invocation.
const benchRecords = 256

// benchCorpus builds a batch shaped like jsonlogparse output: every JSON
// field an attribute, 70% inference_success records over 3 services x 4
// models x 5 labels, the rest other events.
func benchCorpus() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "inference-fn")
	rl.Resource().Attributes().PutStr("faas.instance", "2026/11/25/[$LATEST]0123456789abcdef")
	rl.Resource().Attributes().PutStr("cloud.region", "eu-west-1")
	sl := rl.ScopeLogs().AppendEmpty()
	services := []string{"api", "batch", "stream"}
	models := []string{"resnet50", "bert-base", "whisper-small", "clip"}
	labels := []string{"cat", "dog", "bird", "car", "tree"}
	for i := range benchRecords {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_764_000_000_000_000_000 + i*1000))
		a := lr.Attributes()
		a.PutStr("level", "info")
		a.PutStr("request_id", fmt.Sprintf("8f14e45f-ceea-467f-a0e6-%012d", i))
		switch i % 10 {
		case 7:
			a.PutStr("event", "inference_error")
			a.PutStr("message", "model returned an error")
		case 8, 9:
			a.PutStr("event", "cache_refresh")
			a.PutStr("message", "refreshed feature cache")
		default:
			a.PutStr("event", "inference_success")
			a.PutStr("message", "inference complete")
		}
		a.PutStr("service", services[i%3])
		a.PutStr("model_name", models[i%4])
		a.PutStr("label", labels[i%5])
		if i%2 == 0 {
			a.PutInt("duration_ms", int64(5+i*7%900))
		} else {
			a.PutDouble("duration_ms", float64(5+i*7%900)+0.5)
		}
	}
	return ld
}

const benchCondition = `attributes["event"] == "inference_success"`

// benchOTTLCondition means the same but is outside the fast grammar, so it
// measures this connector on the OTTL route.
const benchOTTLCondition = `IsString(attributes["event"]) and attributes["event"] == "inference_success"`

var benchBuckets = []any{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

var benchAttrs = []any{map[string]any{"key": "service"}, map[string]any{"key": "model_name"}, map[string]any{"key": "label"}}

func ourHistogram(cond string) map[string]any {
	return map[string]any{"rules": []any{map[string]any{
		"name": "inference_duration_ms", "unit": "ms", "kind": "histogram",
		"conditions": []any{cond}, "value": `attributes["duration_ms"]`,
		"buckets": benchBuckets, "attributes": benchAttrs,
	}}}
}

func ourCount(cond string) map[string]any {
	return map[string]any{"rules": []any{map[string]any{
		"name": "inference_count", "kind": "counter",
		"conditions": []any{cond}, "attributes": benchAttrs,
	}}}
}

type benchCase struct {
	rule    string
	name    string
	factory connector.Factory
	cfg     map[string]any
	// drains: the component holds state and emits on the drain hook.
	drains bool
}

func benchCases() []benchCase {
	s2m, count, ours := signaltometricsconnector.NewFactory(), countconnector.NewFactory(), NewFactory()
	return []benchCase{
		{rule: "histogram", name: "logstometrics", factory: ours, cfg: ourHistogram(benchCondition), drains: true},
		{rule: "histogram", name: "logstometrics_nodrain", factory: ours, cfg: ourHistogram(benchCondition)},
		{rule: "histogram", name: "logstometrics_ottl", factory: ours, cfg: ourHistogram(benchOTTLCondition), drains: true},
		{rule: "histogram", name: "signaltometrics", factory: s2m, cfg: map[string]any{"logs": []any{map[string]any{
			"name": "inference_duration_ms", "unit": "ms",
			"conditions": []any{benchCondition}, "attributes": benchAttrs,
			"histogram": map[string]any{"buckets": benchBuckets, "value": `Double(attributes["duration_ms"])`},
		}}}},
		{rule: "count", name: "logstometrics", factory: ours, cfg: ourCount(benchCondition), drains: true},
		{rule: "count", name: "logstometrics_ottl", factory: ours, cfg: ourCount(benchOTTLCondition), drains: true},
		{rule: "count", name: "count", factory: count, cfg: map[string]any{"logs": map[string]any{
			"inference_count": map[string]any{"conditions": []any{benchCondition}, "attributes": benchAttrs},
		}}},
		{rule: "count", name: "signaltometrics", factory: s2m, cfg: map[string]any{"logs": []any{map[string]any{
			"name": "inference_count", "conditions": []any{benchCondition}, "attributes": benchAttrs,
			"sum": map[string]any{"value": "1", "monotonic": true},
		}}}},
	}
}

func newBenchConnector(b *testing.B, bc benchCase) (connector.Logs, *lambdalifecycle.Registry) {
	cfg := bc.factory.CreateDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(bc.cfg).Unmarshal(cfg))
	require.NoError(b, confmap.Validate(cfg))
	c, err := bc.factory.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(bc.factory.Type()), cfg, consumertest.NewNop())
	require.NoError(b, err)
	reg := &lambdalifecycle.Registry{}
	if l, ok := c.(*logsToMetrics); ok {
		l.registry = reg
	}
	require.NoError(b, c.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, c.Shutdown(context.Background())) })
	return c, reg
}

// BenchmarkLogsToMetrics runs every implementation on the same pre-parsed
// batch. One op is one batch; this connector also drains (emits) once per
// op, as it would once per Lambda invocation, while the contrib connectors
// emit inside every ConsumeLogs. Reported per record: ns and allocations.
func BenchmarkLogsToMetrics(b *testing.B) {
	ld := benchCorpus()
	for _, bc := range benchCases() {
		{
			b.Run(bc.rule+"/"+bc.name, func(b *testing.B) {
				c, reg := newBenchConnector(b, bc)
				ctx := context.Background()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ResetTimer()
				for b.Loop() {
					if err := c.ConsumeLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
					if bc.drains {
						if err := reg.Drain(ctx, lambdalifecycle.Blocking); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				records := float64(b.N) * benchRecords
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
			})
		}
	}
}

// BenchmarkSeriesMemory measures the heap one active cumulative series
// holds: benchEnvironments resources (Lambda environments, each its own
// service.instance.id) send the benchmark batch once; the heap growth after
// a GC, divided by the series held, is what the connector keeps per series,
// its share of the resource copy included. It decides how far max_stale
// must cut state in a gateway.
func BenchmarkSeriesMemory(b *testing.B) {
	const benchEnvironments = 500
	batches := make([]plog.Logs, benchEnvironments)
	for i := range batches {
		batches[i] = benchCorpus()
		batches[i].ResourceLogs().At(0).Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("env-%05d", i))
	}
	for _, bc := range benchCases() {
		if bc.factory.Type() != NewFactory().Type() || bc.name != "logstometrics" {
			continue
		}
		b.Run(bc.rule, func(b *testing.B) {
			var perSeries, series float64
			for b.Loop() {
				cfg := bc.factory.CreateDefaultConfig()
				require.NoError(b, confmap.NewFromStringMap(bc.cfg).Unmarshal(cfg))
				c, err := bc.factory.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(bc.factory.Type()), cfg, consumertest.NewNop())
				require.NoError(b, err)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for _, ld := range batches {
					if err := c.ConsumeLogs(context.Background(), ld); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				agg := c.(*logsToMetrics).agg
				n := 0
				for _, rs := range agg.resources {
					for _, ms := range rs.metrics {
						n += len(ms.series)
					}
				}
				series = float64(n)
				perSeries = float64(after.HeapAlloc-before.HeapAlloc) / series
			}
			b.ReportMetric(perSeries, "B/series")
			b.ReportMetric(series/benchEnvironments, "series/resource")
		})
	}
}
