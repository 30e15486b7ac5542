package invocationsamplingprocessor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor/internal/metadata"
)

// benchInvocation is one invocation as it reaches the processor: 50 log
// lines, the function's span, then the receiver's server span and phase.
type benchInvocation struct {
	logs     plog.Logs
	function ptrace.Traces
	end      ptrace.Traces
}

const benchLines = 50

func newBenchInvocation(i int, rng *rand.Rand) benchInvocation {
	v := inv{id: fmt.Sprintf("3f1c0a6e-8f7b-4b8e-9d2a-%012d", i), trace: traceWithRandomness(byte(i), rng.Uint64()), status: "success", duration: 20 * time.Millisecond, at: time.Duration(i) * time.Second}
	v.trace[1], v.trace[2], v.trace[3] = byte(i>>8), byte(i>>16), byte(i>>24)
	if i%20 == 0 {
		v.status = "error"
	}
	return benchInvocation{logs: functionLogs(benchLines, v), function: functionSpans(v), end: serverSpans(v)}
}

// BenchmarkInvocation: the processor's cost per record (span or log line)
// over invocations of 50 lines and 3 spans, 5% failing, a 10% base rate:
// lines and the function's span are held until the server span decides.
// One b.N is one invocation.
func BenchmarkInvocation(b *testing.B) {
	f := newFactory(&lambdalifecycle.Registry{})
	cfg := createDefaultConfig()
	set := processortest.NewNopSettings(metadata.Type)
	tp, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	lp, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(b, lp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() {
		require.NoError(b, tp.Shutdown(context.Background()))
		require.NoError(b, lp.Shutdown(context.Background()))
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 256
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		b.StopTimer()
		invs := make([]benchInvocation, min(batch, b.N-n))
		for i := range invs {
			invs[i] = newBenchInvocation(n+i, rng)
		}
		b.StartTimer()
		for _, v := range invs {
			_ = lp.ConsumeLogs(ctx, v.logs)
			_ = tp.ConsumeTraces(ctx, v.function)
			_ = tp.ConsumeTraces(ctx, v.end)
		}
	}
	b.StopTimer()
	perRecord := float64(b.Elapsed().Nanoseconds()) / float64(b.N*(benchLines+3))
	b.ReportMetric(perRecord, "ns/record")
}
