package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
)

// defaultCardinalityLimit matches the OpenTelemetry SDKs' default.
const defaultCardinalityLimit = 2000

// NewFactory returns the logstometrics connector factory.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithLogsToMetrics(createLogsToMetrics, metadata.LogsToMetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		ErrorMode:        ottl.IgnoreError,
		CardinalityLimit: defaultCardinalityLimit,
	}
}

// createLogsToMetrics compiles the rules (the same function Validate uses)
// and returns its errors rather than trusting that Validate ran.
func createLogsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	c := cfg.(*Config)
	rules, err := compileRules(c, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.TelemetrySettings, rules)
	if err != nil {
		return nil, err
	}
	return &logsToMetrics{
		id:            set.ID,
		next:          next,
		logger:        set.Logger,
		telemetry:     tel,
		registry:      lambdalifecycle.Default,
		flushInterval: c.FlushInterval,
		now:           time.Now,
		agg:           newAggregator(rules, set.BuildInfo.Version, c.MaxStale, set.Resource, pcommon.NewTimestampFromTime(time.Now())),
	}, nil
}
