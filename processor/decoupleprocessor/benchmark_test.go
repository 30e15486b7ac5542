package decoupleprocessor

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

// benchLogs is one invocation's worth of function logs: 1000 records with
// a trace context, a ~100-byte body and three attributes.
func benchLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("faas.name", "sentiment-function")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range 1000 {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i)})
		lr.Body().SetStr(fmt.Sprintf("inference finished for request %08d with label positive and a score of 0.%04d, model v3", i, i))
		lr.Attributes().PutStr("event", "inference_success")
		lr.Attributes().PutInt("duration_ms", int64(i%250))
		lr.Attributes().PutStr("aws.lambda.request_id", "3f1c0a6e-8f7b-4b8e-9d2a-5c6e7f809a1b")
	}
	return ld
}

func benchProcessor(b *testing.B, next consumer.Logs) (*lambdalifecycle.Registry, *instance[plog.Logs], func()) {
	b.Helper()
	registry := &lambdalifecycle.Registry{}
	f := newFactory(registry)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = b.TempDir()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	return registry, p.(logsProcessor).instance, func() {
		if err := p.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsumeLogs1000 is the caller's cost: encode and write one
// 1000-record batch. The backend never answers, so nothing is sent; the
// spool is emptied outside the timer.
func BenchmarkConsumeLogs1000(b *testing.B) {
	be := &backend{hold: make(chan struct{})}
	_, p, shutdown := benchProcessor(b, be)
	defer shutdown()
	ld := benchLogs()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.consume(ld); err != nil {
			b.Fatal(err)
		}
		if i++; i%256 == 0 {
			b.StopTimer()
			p.d.store.DropAll(spool.Shutdown)
			b.StartTimer()
		}
	}
}

// BenchmarkSendCycleLogs1000 is one batch's whole way: consume, wake the
// sender, read, decode, pass to the next consumer, delete; a Blocking
// drain waits for it.
func BenchmarkSendCycleLogs1000(b *testing.B) {
	registry, p, shutdown := benchProcessor(b, consumertest.NewNop())
	defer shutdown()
	ld := benchLogs()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.consume(ld); err != nil {
			b.Fatal(err)
		}
		if err := registry.Drain(context.Background(), lambdalifecycle.Blocking); err != nil {
			b.Fatal(err)
		}
	}
}
