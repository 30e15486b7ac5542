package decoupleprocessor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

func TestRetryDelay(t *testing.T) {
	r := RetryConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: 30 * time.Second, Multiplier: 2, Jitter: 0.5}
	tests := []struct {
		name     string
		failures int
		throttle time.Duration
		rnd      float64
		want     time.Duration
	}{
		{"first retry at once", 1, 0, 0.5, 0},
		{"first retry honours a throttle", 1, 3 * time.Second, 0.5, 3 * time.Second},
		{"second: initial", 2, 0, 0.5, 100 * time.Millisecond},
		{"third: doubled", 3, 0, 0.5, 200 * time.Millisecond},
		{"jitter down", 3, 0, 0, 100 * time.Millisecond},
		{"jitter up", 3, 0, 0.999999, 300 * time.Millisecond},
		{"capped", 20, 0, 0.5, 30 * time.Second},
		{"capped after jitter", 20, 0, 0.999999, 30 * time.Second},
		{"no overflow", 10_000, 0, 0.5, 30 * time.Second},
		{"throttle beyond the cap", 20, time.Minute, 0.5, time.Minute},
		{"backoff beyond a short throttle", 4, time.Millisecond, 0.5, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, r.delay(tt.failures, tt.throttle, tt.rnd), float64(time.Microsecond))
		})
	}
}

// exporterhelper's throttle error is unexported: its delay is read from its
// text. Built here with the real constructor, so a change of its format in
// core fails this test.
func TestThrottleDelay(t *testing.T) {
	throttle := exporterhelper.NewThrottleRetry(errors.New("HTTP 429 Too Many Requests"), 1500*time.Millisecond)
	tests := []struct {
		name string
		err  error
		want time.Duration
		ok   bool
	}{
		{"as otlphttp returns it (no retry sender)", throttle, 1500 * time.Millisecond, true},
		{"wrapped by exporterhelper's retry sender", fmt.Errorf("no more retries left: %w", throttle), 1500 * time.Millisecond, true},
		{"joined", errors.Join(errors.New("other"), throttle), 1500 * time.Millisecond, true},
		{"minutes", exporterhelper.NewThrottleRetry(errors.New("503"), 2*time.Minute), 2 * time.Minute, true},
		{"zero", exporterhelper.NewThrottleRetry(errors.New("503"), 0), 0, true},
		{"plain retryable", errors.New("connection refused"), 0, false},
		{"permanent", consumererror.NewPermanent(errors.New("400")), 0, false},
		{"look-alike text in a message is not a throttle", errors.New("backend said: Throttle (5s), error: x"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := throttleDelay(tt.err)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
