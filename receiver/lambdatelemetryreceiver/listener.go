package lambdatelemetryreceiver

import (
	"errors"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/translator"
)

// handleTelemetry receives a Telemetry API delivery. It only translates and
// answers: pushing downstream happens at the flush, so Lambda's delivery is
// never slowed by an exporter (a slow listener makes Lambda drop records).
// The exception is a long invocation that piles up max_pending_records.
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
	r.tr.Add(events)
	if r.tr.PendingLogRecords() >= r.cfg.Flush.MaxPendingRecords {
		if err := r.push(req.Context()); err != nil {
			r.logger.Warn("Pushing pending telemetry failed", zap.Error(err))
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (r *lambdaReceiver) reject(w http.ResponseWriter, status int, err error) {
	r.tr.Count(translator.MetricRejectedBatches, 1)
	r.logger.Warn("Rejected a Telemetry API delivery", zap.Int("status", status), zap.Error(err))
	http.Error(w, err.Error(), status)
}
