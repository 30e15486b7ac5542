package bodylimitextension // import "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

// NewFactory returns the bodylimit extension factory.
func NewFactory() extension.Factory {
	return newFactory(lambdalifecycle.Default)
}

func newFactory(registry *lambdalifecycle.Registry) extension.Factory {
	return extension.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newBodyLimit(set, cfg.(*Config), registry), nil
		},
		metadata.ExtensionStability,
	)
}
