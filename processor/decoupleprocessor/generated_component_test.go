// Written by hand in the shape mdatagen generates; the spool's default
// directory is under TMPDIR, so each test gets its own.

package decoupleprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/metadata"
)

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestComponentLifecycle(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig()
	tests := []struct {
		name     string
		createFn func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error)
	}{
		{"logs", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateLogs(ctx, set, cfg, consumertest.NewNop())
		}},
		{"metrics", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
		}},
		{"traces", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateTraces(ctx, set, cfg, consumertest.NewNop())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"-shutdown", func(t *testing.T) {
			c, err := tt.createFn(context.Background(), processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(tt.name+"-lifecycle", func(t *testing.T) {
			for range 2 {
				c, err := tt.createFn(context.Background(), processortest.NewNopSettings(metadata.Type), cfg)
				require.NoError(t, err)
				require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
				require.NotPanics(t, func() {
					switch e := c.(type) {
					case processor.Logs:
						_ = e.ConsumeLogs(context.Background(), plog.NewLogs())
					case processor.Metrics:
						_ = e.ConsumeMetrics(context.Background(), pmetric.NewMetrics())
					case processor.Traces:
						_ = e.ConsumeTraces(context.Background(), ptrace.NewTraces())
					}
				})
				require.NoError(t, c.Shutdown(context.Background()))
			}
		})
	}
}
