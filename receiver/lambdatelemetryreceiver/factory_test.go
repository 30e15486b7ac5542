package lambdatelemetryreceiver

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.Validate(cfg), "the default config is valid")

	// The three pipelines share one receiver: Lambda allows one subscription
	// per extension.
	set := receivertest.NewNopSettings(metadata.Type)
	lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	tr, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	shared := func(c component.Component) *lambdaReceiver {
		return c.(interface{ Unwrap() *lambdaReceiver }).Unwrap()
	}
	assert.Same(t, shared(lr), shared(tr))
	assert.Same(t, shared(lr), shared(mr))

	// Shutdown without Start is safe, and forgets the instance so a reload
	// builds a new one.
	require.NoError(t, lr.Shutdown(context.Background()))
	again, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.NotSame(t, shared(lr), shared(again))
}
