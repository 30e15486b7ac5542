package decoupleprocessor

import (
	"strings"
	"time"
)

// delay is how long to wait after the n-th consecutive failed request (n >= 1)
// before the next attempt; rnd in [0, 1) draws the jitter. The first retry
// goes at once: after a thaw, the first request on a kept-alive connection
// often fails with a reset or EOF that a new connection does not. Then
// initial_interval * multiplier^(n-2), jittered, capped at max_interval, and
// never shorter than the throttle the backend asked for.
func (r RetryConfig) delay(n int, throttle time.Duration, rnd float64) time.Duration {
	if n <= 1 {
		return throttle
	}
	d := float64(r.InitialInterval)
	for i := 2; i < n && d < float64(r.MaxInterval); i++ {
		d *= r.Multiplier
	}
	d *= 1 + r.Jitter*(2*rnd-1)
	return max(min(time.Duration(d), r.MaxInterval), throttle)
}

// throttlePrefix is how exporterhelper's unexported throttleRetry error
// (NewThrottleRetry: a 429 or 503 with Retry-After) starts its Error():
// "Throttle (" + delay.String() + "), error: " + err.Error(). The type cannot
// be matched with errors.As outside exporterhelper, so its text is; a test
// builds one with exporterhelper.NewThrottleRetry and fails if core changes it.
const throttlePrefix, throttleEnd = "Throttle (", "), error: "

// throttleDelay finds a throttle delay anywhere in err's chain.
func throttleDelay(err error) (time.Duration, bool) {
	stack := []error{err}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e == nil {
			continue
		}
		if rest, ok := strings.CutPrefix(e.Error(), throttlePrefix); ok {
			if d, _, ok := strings.Cut(rest, throttleEnd); ok {
				if delay, err := time.ParseDuration(d); err == nil {
					return delay, true
				}
			}
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			stack = append(stack, u.Unwrap())
		case interface{ Unwrap() []error }:
			stack = append(stack, u.Unwrap()...)
		}
	}
	return 0, false
}
