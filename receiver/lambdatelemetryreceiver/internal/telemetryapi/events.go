// Package telemetryapi holds the Lambda Telemetry API's event shapes and the
// decoding of a delivered batch.
package telemetryapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event types this receiver interprets; others are kept as logs with their type.
const (
	TypeInitStart          = "platform.initStart"
	TypeInitRuntimeDone    = "platform.initRuntimeDone"
	TypeInitReport         = "platform.initReport"
	TypeRestoreStart       = "platform.restoreStart"
	TypeRestoreRuntimeDone = "platform.restoreRuntimeDone"
	TypeRestoreReport      = "platform.restoreReport"
	TypeStart              = "platform.start"
	TypeRuntimeDone        = "platform.runtimeDone"
	TypeReport             = "platform.report"
	TypeLogsDropped        = "platform.logsDropped"
	TypeFunction           = "function"
	TypeExtension          = "extension"
)

// Event is one element of a delivered batch. Record stays raw until its type
// says how to read it.
type Event struct {
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// Tracing is the tracing object of platform events.
type Tracing struct {
	SpanID string `json:"spanId"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

// Span is an entry of a runtimeDone/initRuntimeDone spans list.
type Span struct {
	Name       string    `json:"name"`
	Start      time.Time `json:"start"`
	DurationMs float64   `json:"durationMs"`
}

// Metrics is the union of the metrics objects of platform events.
type Metrics struct {
	DurationMs        float64  `json:"durationMs"`
	BilledDurationMs  float64  `json:"billedDurationMs"`
	MemorySizeMB      int64    `json:"memorySizeMB"`
	MaxMemoryUsedMB   int64    `json:"maxMemoryUsedMB"`
	InitDurationMs    *float64 `json:"initDurationMs"`
	RestoreDurationMs *float64 `json:"restoreDurationMs"`
	ProducedBytes     *int64   `json:"producedBytes"`
}

// Platform is the union of the platform.* records this receiver reads.
type Platform struct {
	RequestID          string   `json:"requestId"`
	Version            string   `json:"version"`
	Status             string   `json:"status"`
	ErrorType          string   `json:"errorType"`
	InitializationType string   `json:"initializationType"`
	Phase              string   `json:"phase"`
	RuntimeVersion     string   `json:"runtimeVersion"`
	Metrics            *Metrics `json:"metrics"`
	Spans              []Span   `json:"spans"`
	Tracing            *Tracing `json:"tracing"`
	DroppedRecords     int64    `json:"droppedRecords"`
	DroppedBytes       int64    `json:"droppedBytes"`
	Reason             string   `json:"reason"`
}

// ErrMalformed wraps every reason a batch is rejected.
var ErrMalformed = errors.New("malformed telemetry batch")

// DecodeBatch decodes a delivered batch. A batch that is not a JSON array of
// events with a type is rejected whole: Lambda retries it, and a partial
// accept would duplicate the good part.
func DecodeBatch(body []byte) ([]Event, error) {
	var events []Event
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for i := range events {
		if events[i].Type == "" {
			return nil, fmt.Errorf("%w: event %d has no type", ErrMalformed, i)
		}
	}
	return events, nil
}

// DecodePlatform reads a platform record.
func DecodePlatform(raw json.RawMessage) (Platform, error) {
	var p Platform
	err := json.Unmarshal(raw, &p)
	return p, err
}

// IsJSONObject reports whether a function/extension record is an object (JSON
// log format) rather than a string (text log format).
func IsJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}
