// Code shaped like mdatagen's output; keep in sync with metadata.yaml.

package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("lambdatelemetry")
	ScopeName = "github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"
)

const (
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
)
