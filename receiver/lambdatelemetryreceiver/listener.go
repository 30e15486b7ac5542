package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/translator"
)

// handleTelemetry receives a Telemetry API delivery: it translates it and,
// unless the flush policy holds deliveries (periodic, up to
// max_pending_records), hands it downstream at once. Downstream ends in the
// spool, which answers from local disk, so Lambda's delivery is never slowed
// by the backend (a slow listener makes Lambda drop records).
func (r *lambdaReceiver) handleTelemetry(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Lambda sends batches of up to about 2 x maxBytes.
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, int64(4*r.cfg.Buffering.MaxBytes)))
	if err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		r.reject(w, status, err)
		return
	}
	events, err := telemetryapi.DecodeBatch(body)
	if err != nil {
		r.reject(w, http.StatusBadRequest, err)
		return
	}
	if !r.dedup.firstTime(body) {
		r.tr.Count(translator.MetricDuplicateRecords, int64(len(events)))
		w.WriteHeader(http.StatusOK)
		return
	}
	r.tr.Add(events)
	// Lambda's request context ends when it gets its answer; the work below
	// is local (the spool answers from disk) and bounded by localBudget.
	ctx := context.WithoutCancel(req.Context())
	switch {
	case r.fc.emitDue(r.opts.now()):
		r.flush(ctx, lambdalifecycle.Background, localBudget)
	case r.fc.pushOnArrival() || r.tr.PendingLogRecords() >= r.cfg.Flush.MaxPendingRecords:
		if err := r.push(ctx, false); err != nil {
			r.logger.Warn("Pushing telemetry downstream failed", zap.Error(err))
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (r *lambdaReceiver) reject(w http.ResponseWriter, status int, err error) {
	r.tr.Count(translator.MetricRejectedBatches, 1)
	r.logger.Warn("Rejected a Telemetry API delivery", zap.Int("status", status), zap.Error(err))
	http.Error(w, err.Error(), status)
}
