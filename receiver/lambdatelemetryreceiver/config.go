package lambdatelemetryreceiver

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"
)

// Config of the lambdatelemetry receiver.
type Config struct {
	// Endpoint is where the Telemetry API listener binds; its host is also the
	// one in the subscription's destination URI. Lambda delivers only to
	// sandbox.localdomain.
	Endpoint string `mapstructure:"endpoint"`
	// SchemaVersion of the subscription; when Lambda refuses it the receiver
	// falls back to 2022-12-13.
	SchemaVersion string `mapstructure:"schema_version"`
	// Types to subscribe to: platform, function, extension.
	Types     []string        `mapstructure:"types"`
	Buffering BufferingConfig `mapstructure:"buffering"`
	// MaxRequestBodySize bounds a delivery's body in bytes: a larger one is
	// answered 413 without being read into memory. Lambda's own batches are
	// at most about 2 x buffering.max_bytes.
	MaxRequestBodySize int64 `mapstructure:"max_request_body_size"`
	// HeapReleaseSlack: at the start of each invocation the process's heap
	// is returned to the OS when it holds more than what it held after Init
	// (or the last release) plus this many bytes (heaprelease.go). 0 turns
	// it off.
	HeapReleaseSlack int64 `mapstructure:"heap_release_slack"`
	// PlatformLogs also emits platform.* events as log records.
	PlatformLogs bool `mapstructure:"platform_logs"`
	// MaxRecordBytes bounds a log record's body; longer ones are cut and marked.
	MaxRecordBytes int `mapstructure:"max_record_bytes"`
	// MetricsTemporality is cumulative (state per execution environment) or delta.
	MetricsTemporality string         `mapstructure:"metrics_temporality"`
	Flush              FlushConfig    `mapstructure:"flush"`
	Shutdown           ShutdownConfig `mapstructure:"shutdown"`
	_                  struct{}
}

// BufferingConfig is sent as is to the Telemetry API (all three values are
// always sent: AWS's documented defaults disagree between pages).
type BufferingConfig struct {
	MaxItems  int `mapstructure:"max_items"`
	MaxBytes  int `mapstructure:"max_bytes"`
	TimeoutMs int `mapstructure:"timeout_ms"`
	_         struct{}
}

// FlushConfig is the flush policy and the bounds of its waits.
type FlushConfig struct {
	// Strategy: end, periodic, continuous or adaptive (see flushcontrol.go).
	Strategy Strategy `mapstructure:"strategy"`
	// ExportBudget bounds, in a blocking flush, the wait for the backend
	// after platform.runtimeDone: what it does not acknowledge in time stays
	// in the spool and leaves in the background after the next thaw.
	ExportBudget time.Duration `mapstructure:"export_budget"`
	// Interval: how often non-blocking strategies emit metrics and
	// aggregates (periodic: all its telemetry); the backstop of a blocking
	// flush during a long invocation.
	Interval time.Duration  `mapstructure:"interval"`
	Adaptive AdaptiveConfig `mapstructure:"adaptive"`
	// RuntimeDoneGrace is how long past the invocation's deadline the receiver
	// still waits for platform.runtimeDone (a timeout's arrives after it).
	RuntimeDoneGrace time.Duration `mapstructure:"runtime_done_grace"`
	// MaxWait caps the wait for platform.runtimeDone whatever the deadline.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxPendingRecords: past this many log records held between flushes the
	// listener pushes them downstream at once (long, chatty invocations).
	MaxPendingRecords int `mapstructure:"max_pending_records"`
	_                 struct{}
}

// AdaptiveConfig says when invocations count as regular.
type AdaptiveConfig struct {
	// Warmup: this many gaps between invocations, each at most IdleGap, make
	// the traffic regular (so the first invocations after a cold start block).
	Warmup int `mapstructure:"warmup"`
	// IdleGap: a longer gap between two invocations makes it rare again.
	IdleGap time.Duration `mapstructure:"idle_gap"`
	// MaxLag: once regular, how far exports may fall behind before an
	// invocation catches up (waits for them within flush.export_budget):
	// the age of the oldest invocation not yet translated, beyond the last
	// one, or of the oldest data held that could be sent now.
	MaxLag time.Duration `mapstructure:"max_lag"`
	_      struct{}
}

// ShutdownConfig bounds the work done on SHUTDOWN within Lambda's deadline.
type ShutdownConfig struct {
	// ReportWait is how long to wait for the trailing platform.report.
	ReportWait time.Duration `mapstructure:"report_wait"`
	// Margin is kept free before deadlineMs for the collector's own shutdown.
	Margin time.Duration `mapstructure:"margin"`
	_      struct{}
}

var (
	knownTypes          = []string{"platform", "function", "extension"}
	knownSchemaVersions = []string{"2025-01-29", "2022-12-13", "2022-07-01"}
)

// Validate checks the config; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	host, port, err := net.SplitHostPort(c.Endpoint)
	if err != nil || host == "" {
		errs = append(errs, fmt.Errorf("endpoint: %q is not host:port", c.Endpoint))
	} else if p, perr := strconv.Atoi(port); perr != nil || p < 0 || p > 65535 || p == 9001 {
		errs = append(errs, fmt.Errorf("endpoint: port %q is not usable (0-65535, 9001 is reserved by Lambda)", port))
	}
	if !slices.Contains(knownSchemaVersions, c.SchemaVersion) {
		errs = append(errs, fmt.Errorf("schema_version: %q is not one of %v", c.SchemaVersion, knownSchemaVersions))
	}
	if len(c.Types) == 0 {
		errs = append(errs, errors.New("types: at least one of platform, function, extension is required"))
	}
	for _, t := range c.Types {
		if !slices.Contains(knownTypes, t) {
			errs = append(errs, fmt.Errorf("types: %q is not one of %v", t, knownTypes))
		}
	}
	if b := c.Buffering; b.MaxItems < 1000 || b.MaxItems > 10000 {
		errs = append(errs, fmt.Errorf("buffering.max_items: %d is outside Lambda's 1000..10000", b.MaxItems))
	}
	if b := c.Buffering; b.MaxBytes < 262144 || b.MaxBytes > 1048576 {
		errs = append(errs, fmt.Errorf("buffering.max_bytes: %d is outside Lambda's 262144..1048576", b.MaxBytes))
	}
	if b := c.Buffering; b.TimeoutMs < 25 || b.TimeoutMs > 30000 {
		errs = append(errs, fmt.Errorf("buffering.timeout_ms: %d is outside Lambda's 25..30000", b.TimeoutMs))
	}
	if minBody := 2 * int64(c.Buffering.MaxBytes); c.MaxRequestBodySize < minBody {
		errs = append(errs, fmt.Errorf("max_request_body_size: %d is below 2 x buffering.max_bytes (%d): Lambda's own batches would be refused", c.MaxRequestBodySize, minBody))
	}
	if c.HeapReleaseSlack < 0 {
		errs = append(errs, fmt.Errorf("heap_release_slack: must not be negative (0 turns it off), got %d", c.HeapReleaseSlack))
	}
	if c.MaxRecordBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_record_bytes: must be positive, got %d", c.MaxRecordBytes))
	}
	if c.MetricsTemporality != "cumulative" && c.MetricsTemporality != "delta" {
		errs = append(errs, fmt.Errorf("metrics_temporality: %q is not cumulative or delta", c.MetricsTemporality))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"flush.runtime_done_grace", c.Flush.RuntimeDoneGrace},
		{"flush.max_wait", c.Flush.MaxWait},
		{"flush.export_budget", c.Flush.ExportBudget},
		{"flush.interval", c.Flush.Interval},
		{"flush.adaptive.idle_gap", c.Flush.Adaptive.IdleGap},
		{"flush.adaptive.max_lag", c.Flush.Adaptive.MaxLag},
		{"shutdown.report_wait", c.Shutdown.ReportWait},
		{"shutdown.margin", c.Shutdown.Margin},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", f.name, f.d))
		}
	}
	if c.Flush.MaxWait == 0 || c.Flush.Interval == 0 || c.Flush.ExportBudget == 0 {
		errs = append(errs, errors.New("flush.max_wait, flush.interval and flush.export_budget: must be positive (every wait is bounded)"))
	}
	if !slices.Contains(strategies, c.Flush.Strategy) {
		errs = append(errs, fmt.Errorf("flush.strategy: %q is not one of %v", c.Flush.Strategy, strategies))
	}
	if c.Flush.Adaptive.Warmup < 1 {
		errs = append(errs, fmt.Errorf("flush.adaptive.warmup: must be at least 1 (the first invocation after a cold start blocks; use strategy continuous never to), got %d", c.Flush.Adaptive.Warmup))
	}
	if c.Flush.MaxPendingRecords <= 0 {
		errs = append(errs, fmt.Errorf("flush.max_pending_records: must be positive, got %d", c.Flush.MaxPendingRecords))
	}
	return errors.Join(errs...)
}
