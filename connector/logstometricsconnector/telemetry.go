package logstometricsconnector // import "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector/internal/metadata"
)

// telemetry makes every value the connector could not record visible: no
// loss is silent.
type telemetry struct {
	skipped          metric.Int64Counter
	overflow         metric.Int64Counter
	dropped          metric.Int64Counter
	expiredSeries    metric.Int64Counter
	expiredResources metric.Int64Counter
	// opts holds, per rule, the attribute sets built once so that recording
	// a batch's counts does not allocate.
	opts []ruleOpts
}

type ruleOpts struct {
	missing, nonNumeric, negative, conditionError metric.AddOption
	// byMetric is the metric attribute alone.
	byMetric metric.AddOption
}

// The expiry metrics go to the collector's telemetry and, with max_stale on,
// into the connector's output (expiryCounts.appendTo).
const (
	expiredSeriesMetric         = "otelcol.logstometrics.expired_series"
	expiredSeriesDescription    = "Cumulative series forgotten after max_stale without an update, by metric."
	expiredResourcesMetric      = "otelcol.logstometrics.expired_resources"
	expiredResourcesDescription = "Resources forgotten because none of their series remained (expired after max_stale, or delta and idle for an interval)."
)

func newTelemetry(set component.TelemetrySettings, rules []*rule) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	skipped, err1 := meter.Int64Counter("otelcol.logstometrics.records_skipped",
		metric.WithDescription("Matching log records a rule could not record, by metric and reason (missing_field, non_numeric, negative_value, condition_error)."),
		metric.WithUnit("{record}"))
	overflow, err2 := meter.Int64Counter("otelcol.logstometrics.overflow_records",
		metric.WithDescription("Log records recorded into a metric's overflow series (otel.metric.overflow=true) because its cardinality limit was reached."),
		metric.WithUnit("{record}"))
	dropped, err3 := meter.Int64Counter("otelcol.logstometrics.dropped_data_points",
		metric.WithDescription("Delta data points lost because the next consumer refused them."),
		metric.WithUnit("{datapoint}"))
	expiredSeries, err4 := meter.Int64Counter(expiredSeriesMetric,
		metric.WithDescription(expiredSeriesDescription), metric.WithUnit("{series}"))
	expiredResources, err5 := meter.Int64Counter(expiredResourcesMetric,
		metric.WithDescription(expiredResourcesDescription), metric.WithUnit("{resource}"))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	t := &telemetry{
		skipped: skipped, overflow: overflow, dropped: dropped,
		expiredSeries: expiredSeries, expiredResources: expiredResources,
		opts: make([]ruleOpts, len(rules)),
	}
	for i, r := range rules {
		name := attribute.String("metric", r.name)
		reason := func(v string) metric.AddOption {
			return metric.WithAttributeSet(attribute.NewSet(name, attribute.String("reason", v)))
		}
		t.opts[i] = ruleOpts{
			missing:        reason("missing_field"),
			nonNumeric:     reason("non_numeric"),
			negative:       reason("negative_value"),
			conditionError: reason("condition_error"),
			byMetric:       metric.WithAttributeSet(attribute.NewSet(name)),
		}
	}
	return t, nil
}

// record reports a batch's counts and resets them.
func (t *telemetry) record(ctx context.Context, stats []ruleStats) {
	add := func(c metric.Int64Counter, n int64, opt metric.AddOption) {
		if n > 0 {
			c.Add(ctx, n, opt)
		}
	}
	for i := range stats {
		st, o := &stats[i], &t.opts[i]
		add(t.skipped, st.missing, o.missing)
		add(t.skipped, st.nonNumeric, o.nonNumeric)
		add(t.skipped, st.negative, o.negative)
		add(t.skipped, st.conditionErrors, o.conditionError)
		add(t.overflow, st.overflow, o.byMetric)
		add(t.expiredSeries, st.expiredSeries, o.byMetric)
		stats[i] = ruleStats{}
	}
}
