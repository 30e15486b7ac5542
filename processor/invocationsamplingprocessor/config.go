package invocationsamplingprocessor

import (
	"errors"
	"fmt"
	"time"
)

// Config of the invocationsampling processor. Policies are applied in the
// order of the fields: errors, cold starts, slow, upstream, base rate.
type Config struct {
	// KeepErrors keeps every invocation that failed, timed out or crashed.
	KeepErrors bool `mapstructure:"keep_errors"`
	// KeepColdStarts keeps every invocation that paid for the init.
	KeepColdStarts bool `mapstructure:"keep_cold_starts"`
	// Slow keeps invocations slower than a threshold.
	Slow SlowConfig `mapstructure:"slow"`
	// HonorUpstreamSampled keeps invocations whose caller sampled the trace
	// (the X-Ray header's Sampled=1, the W3C sampled flag).
	HonorUpstreamSampled bool `mapstructure:"honor_upstream_sampled"`
	// SamplingPercentage is the base rate of the rest, 0 to 100, decided
	// from the trace id's randomness (consistent with other samplers).
	SamplingPercentage float64 `mapstructure:"sampling_percentage"`
	// MaxPendingBytes bounds the undecided data held; past it the oldest
	// undecided invocations are kept whole (reason memory_limit).
	MaxPendingBytes int64 `mapstructure:"max_pending_bytes"`
	// DecisionCacheSize is how many decided invocations (and traces) are
	// remembered, so that late records follow their decision.
	DecisionCacheSize int `mapstructure:"decision_cache_size"`
	// OrphanAfter: undecided data that no invocation has claimed once this
	// many later invocations were decided is kept (reason undecided). The
	// decisions counted include those of older invocations whose records
	// came late: the receiver's adaptive strategy lets exports lag by up to
	// a second (flush.adaptive.max_lag), tens of invocations of a busy
	// function, so the default leaves room for that.
	OrphanAfter int `mapstructure:"orphan_after_invocations"`
}

// SlowConfig: an invocation is slow when its duration exceeds Threshold, or
// the Percentile of the last Window invocations' durations (once
// MinInvocations have been seen). Zero turns either off.
type SlowConfig struct {
	Threshold      time.Duration `mapstructure:"threshold"`
	Percentile     float64       `mapstructure:"percentile"`
	Window         int           `mapstructure:"window"`
	MinInvocations int           `mapstructure:"min_invocations"`
}

func createDefaultConfig() *Config {
	return &Config{
		KeepErrors:         true,
		KeepColdStarts:     true,
		Slow:               SlowConfig{Percentile: 99, Window: 200, MinInvocations: 20},
		SamplingPercentage: 10,
		MaxPendingBytes:    8 << 20,
		DecisionCacheSize:  4096,
		OrphanAfter:        32,
	}
}

// Validate checks ranges.
func (c *Config) Validate() error {
	var errs []error
	if c.SamplingPercentage < 0 || c.SamplingPercentage > 100 {
		errs = append(errs, fmt.Errorf("sampling_percentage %v: must be within [0, 100]", c.SamplingPercentage))
	}
	if c.Slow.Threshold < 0 {
		errs = append(errs, fmt.Errorf("slow.threshold %v: must not be negative", c.Slow.Threshold))
	}
	if c.Slow.Percentile < 0 || c.Slow.Percentile >= 100 {
		errs = append(errs, fmt.Errorf("slow.percentile %v: must be within [0, 100) (0: off)", c.Slow.Percentile))
	}
	if c.Slow.Percentile > 0 && (c.Slow.Window < 1 || c.Slow.MinInvocations < 1 || c.Slow.MinInvocations > c.Slow.Window) {
		errs = append(errs, fmt.Errorf("slow: window (%d) and min_invocations (%d) must be positive, min_invocations at most window", c.Slow.Window, c.Slow.MinInvocations))
	}
	if c.MaxPendingBytes <= 0 {
		errs = append(errs, errors.New("max_pending_bytes: must be positive"))
	}
	if c.DecisionCacheSize < 1 {
		errs = append(errs, errors.New("decision_cache_size: must be positive"))
	}
	if c.OrphanAfter < 1 {
		errs = append(errs, errors.New("orphan_after_invocations: must be positive"))
	}
	return errors.Join(errs...)
}
