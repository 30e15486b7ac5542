// Code shaped like mdatagen's output; keep in sync with metadata.yaml.

package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("invocationsampling")
	ScopeName = "github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor"
)

const (
	TracesStability = component.StabilityLevelAlpha
	LogsStability   = component.StabilityLevelAlpha
)
