// Written by hand in the shape mdatagen generates from metadata.yaml; keep the two consistent.

package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("bodylimit")
	ScopeName = "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"
)

const (
	ExtensionStability = component.StabilityLevelAlpha
)
