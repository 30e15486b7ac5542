// Package tailsampling measures contrib's tail_sampling processor (v0.161.0)
// beside the invocationsampling processor on the same spans: per Lambda
// invocation the function's span, then the receiver's server span and its
// phase child; 5% failing, a 10% base rate. tail_sampling is configured as
// closely as it allows: status_code ERROR, boolean_attribute faas.coldstart,
// latency over 1 s, probabilistic 10%, first match wins, and its shortest
// useful decision_wait (1 s: it decides on a 1 s ticker). It has no logs, so
// the comparison is on spans only. The cost is the process's CPU time (user
// and system, all goroutines: tail_sampling decides on its own) per span,
// from the first span to the last decision. Run:
//
//	cd bench/tailsampling && go test -run '^$' -bench . -benchtime 20000x -count 6 -cpu 1
package tailsampling

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/tailsamplingprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor"
)

const receiverScope = "github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// invocation returns the function's spans and the receiver's end of
// invocation i, as two batches.
func invocation(i int, rng *rand.Rand) (function, end ptrace.Traces) {
	var trace pcommon.TraceID
	binary.BigEndian.PutUint64(trace[:8], uint64(i)+1)
	binary.BigEndian.PutUint64(trace[8:], rng.Uint64())
	id := fmt.Sprintf("3f1c0a6e-8f7b-4b8e-9d2a-%012d", i)
	server := pcommon.SpanID{1, 0, 0, 0, 0, 0, 0, 1}
	at := start.Add(time.Duration(i) * time.Second)

	function = ptrace.NewTraces()
	rs := function.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "sentiment-function")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("inference")
	s.SetTraceID(trace)
	s.SetSpanID(pcommon.SpanID{3})
	s.SetParentSpanID(server)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(15 * time.Millisecond)))

	end = ptrace.NewTraces()
	rs = end.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("faas.name", "sentiment")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(receiverScope)
	s = ss.Spans().AppendEmpty()
	s.SetName("sentiment")
	s.SetKind(ptrace.SpanKindServer)
	s.SetTraceID(trace)
	s.SetSpanID(server)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(20 * time.Millisecond)))
	s.Attributes().PutStr("faas.invocation_id", id)
	s.Attributes().PutBool("faas.coldstart", i == 0)
	status := "success"
	if i%20 == 0 {
		status = "error"
		s.Status().SetCode(ptrace.StatusCodeError)
	}
	s.Attributes().PutStr("aws.lambda.status", status)
	c := ss.Spans().AppendEmpty()
	c.SetName("responseLatency")
	c.SetTraceID(trace)
	c.SetSpanID(pcommon.SpanID{2})
	c.SetParentSpanID(server)
	c.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(15 * time.Millisecond)))
	c.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(16 * time.Millisecond)))
	c.Attributes().PutStr("faas.invocation_id", id)
	return function, end
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newProcessor(b *testing.B, f processor.Factory, conf map[string]any, sink *consumertest.TracesSink) processor.Traces {
	cfg := f.CreateDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(b, err)
	require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
	return p
}

func BenchmarkCompare(b *testing.B) {
	for _, tc := range []struct {
		name    string
		factory processor.Factory
		conf    map[string]any
		settle  time.Duration // until the last decision
	}{
		{name: "invocationsampling", factory: invocationsamplingprocessor.NewFactory(), conf: map[string]any{
			"slow": map[string]any{"threshold": "1s", "percentile": 0}, "sampling_percentage": 10,
		}},
		{name: "tail_sampling", factory: tailsamplingprocessor.NewFactory(), settle: 2500 * time.Millisecond, conf: map[string]any{
			"decision_wait": "1s", "num_traces": 200000, "sample_on_first_match": true,
			"policies": []any{
				map[string]any{"name": "errors", "type": "status_code", "status_code": map[string]any{"status_codes": []any{"ERROR"}}},
				map[string]any{"name": "cold", "type": "boolean_attribute", "boolean_attribute": map[string]any{"key": "faas.coldstart", "value": true}},
				map[string]any{"name": "slow", "type": "latency", "latency": map[string]any{"threshold_ms": 1000}},
				map[string]any{"name": "base", "type": "probabilistic", "probabilistic": map[string]any{"sampling_percentage": 10}},
			},
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sink := new(consumertest.TracesSink)
			p := newProcessor(b, tc.factory, tc.conf, sink)
			rng := rand.New(rand.NewPCG(1, 2))
			functions, ends := make([]ptrace.Traces, b.N), make([]ptrace.Traces, b.N)
			for i := range b.N {
				functions[i], ends[i] = invocation(i, rng)
			}
			ctx := context.Background()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				_ = p.ConsumeTraces(ctx, functions[i])
				_ = p.ConsumeTraces(ctx, ends[i])
			}
			time.Sleep(tc.settle)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			require.NoError(b, p.Shutdown(ctx))
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(3*b.N), "cpu-ns/span")
			b.ReportMetric(float64(sink.SpanCount())/float64(3*b.N), "kept-share")
		})
	}
}
