package lambdatelemetryreceiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

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
	body, err := r.readBody(w, req)
	if err != nil {
		return
	}
	events, err := telemetryapi.DecodeBatch(body)
	if err != nil {
		r.reject(w, http.StatusBadRequest, translator.MetricRejectedBatches, err)
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

// maxDrain bounds what the listener reads and discards of a body it refused
// as too large, with a fixed buffer: a client that writes its whole body
// before reading the answer (Python's urllib, for one) then gets the 413. Were the
// rest left unread, closing the connection would reset it and the client
// would see only a broken pipe or a reset. Past maxDrain the connection is
// closed anyway, as the stock OTLP receiver's listener does at once.
const maxDrain = 64 << 20

// readBody reads a delivery of at most max_request_body_size bytes; a larger
// one is answered 413 and counted: refused from its Content-Length before a
// byte is read, or, without one, once reading passes the limit. The buffer
// is sized from Content-Length when there is one, so a body is read without
// the copies of a growing slice.
func (r *lambdaReceiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	limit := r.cfg.MaxRequestBodySize
	if req.ContentLength > limit {
		err := fmt.Errorf("request body of %d bytes exceeds max_request_body_size (%d bytes)", req.ContentLength, limit)
		r.refuseTooLarge(w, req, err)
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(req.ContentLength, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(req.Body, limit+1)); err != nil {
		r.reject(w, http.StatusBadRequest, translator.MetricRejectedBatches, fmt.Errorf("reading the request body: %w", err))
		return nil, err
	}
	if int64(buf.Len()) > limit {
		err := fmt.Errorf("request body exceeds max_request_body_size (%d bytes)", limit)
		r.refuseTooLarge(w, req, err)
		return nil, err
	}
	return buf.Bytes(), nil
}

// refuseTooLarge answers 413. The rest of the body is read and discarded
// (up to maxDrain) unless the client asked for 100-continue: it then gets
// the answer before it sends the body, and net/http closes the connection.
func (r *lambdaReceiver) refuseTooLarge(w http.ResponseWriter, req *http.Request, err error) {
	if !strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		_, _ = io.CopyN(io.Discard, req.Body, maxDrain)
	}
	r.reject(w, http.StatusRequestEntityTooLarge, translator.MetricOversizedBatches, err)
}

// reject answers status with err's message and counts the delivery in metric.
func (r *lambdaReceiver) reject(w http.ResponseWriter, status int, metric string, err error) {
	r.tr.Count(metric, 1)
	r.logger.Warn("Rejected a Telemetry API delivery", zap.Int("status", status), zap.Error(err))
	http.Error(w, err.Error(), status)
}
