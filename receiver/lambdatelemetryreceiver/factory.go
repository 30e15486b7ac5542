package lambdatelemetryreceiver

import (
	"context"
	"os"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/lambda-o11y/otelcol-lambda/internal/sharedcomponent"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/metadata"
)

// Option changes what the factory's receivers do; tests use it to run the
// lifecycle in-process.
type Option func(*options)

type options struct {
	lookupEnv     func(string) (string, bool)
	exitCollector func()
	drains        *lambdalifecycle.Registry
	now           func() time.Time
}

// WithEnv replaces os.LookupEnv.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

// WithExit replaces how the receiver ends the collector after SHUTDOWN (by
// default it sends itself SIGTERM, which the collector handles as a clean stop).
func WithExit(exit func()) Option {
	return func(o *options) { o.exitCollector = exit }
}

// WithDrains replaces lambdalifecycle.Default.
func WithDrains(r *lambdalifecycle.Registry) Option {
	return func(o *options) { o.drains = r }
}

// NewFactory returns the lambdatelemetry receiver factory.
func NewFactory(opts ...Option) receiver.Factory {
	o := options{
		lookupEnv:     os.LookupEnv,
		exitCollector: func() { _ = syscall.Kill(os.Getpid(), syscall.SIGTERM) },
		drains:        lambdalifecycle.Default,
		now:           time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	// One receiver per config, shared by the logs, traces and metrics
	// pipelines: Lambda allows one subscription per extension.
	receivers := sharedcomponent.NewMap[*Config, *lambdaReceiver]()
	load := func(set receiver.Settings, cfg component.Config) (*sharedcomponent.Component[*lambdaReceiver], error) {
		return receivers.LoadOrStore(cfg.(*Config), func() (*lambdaReceiver, error) {
			return newReceiver(set, cfg.(*Config), o)
		})
	}
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
			r, err := load(set, cfg)
			if err != nil {
				return nil, err
			}
			r.Unwrap().nextTraces = next
			return r, nil
		}, metadata.TracesStability),
		receiver.WithMetrics(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
			r, err := load(set, cfg)
			if err != nil {
				return nil, err
			}
			r.Unwrap().nextMetrics = next
			return r, nil
		}, metadata.MetricsStability),
		receiver.WithLogs(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
			r, err := load(set, cfg)
			if err != nil {
				return nil, err
			}
			r.Unwrap().nextLogs = next
			return r, nil
		}, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Endpoint:      "sandbox.localdomain:4325",
		SchemaVersion: "2025-01-29",
		Types:         []string{"platform", "function", "extension"},
		// 25 ms is Lambda's minimum: runtimeDone reaches us soonest, which is
		// what the flush before freeze waits for.
		Buffering: BufferingConfig{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25},
		// Twice Lambda's largest batch (about 2 x the largest max_bytes, 1 MiB).
		MaxRequestBodySize: 4 << 20,
		HeapReleaseSlack:   8 << 20,
		MaxRecordBytes:     256 << 10,
		MetricsTemporality: "cumulative",
		Flush: FlushConfig{
			Strategy:          StrategyAdaptive,
			ExportBudget:      50 * time.Millisecond,
			Interval:          10 * time.Second,
			Adaptive:          AdaptiveConfig{Warmup: 2, IdleGap: time.Minute, MaxLag: time.Second},
			RuntimeDoneGrace:  500 * time.Millisecond,
			MaxWait:           15 * time.Minute,
			MaxPendingRecords: 10000,
		},
		Shutdown: ShutdownConfig{ReportWait: 300 * time.Millisecond, Margin: 200 * time.Millisecond},
	}
}
