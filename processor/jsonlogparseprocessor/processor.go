package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"

	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/metadata"
)

// logsProcessor parses every record of a batch in place. It holds no data
// between calls, so it needs no Lambda drain hook.
type logsProcessor struct {
	parser    *parser
	telemetry *metadata.TelemetryBuilder
}

func (lp *logsProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	st := lp.parser.getState()
	defer lp.parser.putState(st)
	st.c = counts{}
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				outcome := st.parseRecord(lr)
				switch outcome {
				case parsed:
					st.c.parsed++
				case notJSON:
					st.c.notJSON++
				case malformed:
					st.c.malformed++
				}
				if outcome != parsed && lp.parser.skywalking {
					// SkyWalking correlates only through attributes and keeps
					// only string bodies: a plain line needs them as much as
					// a parsed one.
					shapeForSkyWalking(lr, lp.parser.cfg.SkyWalking)
				}
			}
		}
	}
	lp.record(ctx, st.c)
	return ld, nil
}

// record adds the batch's counts; zero counts are skipped to keep the
// per-batch cost at the counters that moved.
func (lp *logsProcessor) record(ctx context.Context, c counts) {
	tb := lp.telemetry
	for _, m := range [...]struct {
		counter metric.Int64Counter
		n       int64
	}{
		{tb.ProcessorJsonlogparseRecordsParsed, c.parsed},
		{tb.ProcessorJsonlogparseRecordsNotJSON, c.notJSON},
		{tb.ProcessorJsonlogparseRecordsMalformed, c.malformed},
		{tb.ProcessorJsonlogparseInvalidIds, c.invalidIDs},
		{tb.ProcessorJsonlogparseInvalidTimestamps, c.invalidTimestamps},
		{tb.ProcessorJsonlogparseAttributesDropped, c.attrsDropped},
		{tb.ProcessorJsonlogparseValuesTruncated, c.truncated},
	} {
		if m.n > 0 {
			m.counter.Add(ctx, m.n)
		}
	}
}
