// Written by hand in the shape mdatagen generates from metadata.yaml; keep the two consistent.

package metadata // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("jsonlogparse")
	ScopeName = "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
