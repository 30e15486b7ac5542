package decoupleprocessor

import (
	"errors"
	"fmt"
	"time"
)

// Config of the decouple processor.
type Config struct {
	// Directory holds the spool. Empty: <os.TempDir()>/otelcol-lambda/<id>
	// (/tmp/... on Lambda, where TMPDIR is unset).
	Directory string `mapstructure:"directory"`
	// MaxSize bounds the spool in bytes; when full, the oldest data is dropped.
	// /tmp is 512 MB by default and shared with the function.
	MaxSize int64 `mapstructure:"max_size"`
	// MaxRequestSize: consecutive items of one signal are merged into one
	// request up to this many bytes of payload.
	MaxRequestSize int64       `mapstructure:"max_request_size"`
	Retry          RetryConfig `mapstructure:"retry"`
	// ShutdownTimeout bounds sending at collector shutdown when no final
	// drain came first; what is left stays on disk for the next process.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	_               struct{}
}

// RetryConfig shapes the backoff after a failed request. There is no retry
// budget: data leaves the spool only when delivered, refused for good, or
// pushed out by newer data.
type RetryConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
	Multiplier      float64       `mapstructure:"multiplier"`
	// Jitter spreads each interval by up to ± this fraction of it.
	Jitter float64 `mapstructure:"jitter"`
	_      struct{}
}

func createDefaultConfig() *Config {
	return &Config{
		MaxSize:        128 << 20,
		MaxRequestSize: 1 << 20,
		Retry: RetryConfig{
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     30 * time.Second,
			Multiplier:      2,
			Jitter:          0.2,
		},
		ShutdownTimeout: time.Second,
	}
}

// Validate checks the config; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxSize <= 0 {
		errs = append(errs, fmt.Errorf("max_size: must be positive, got %d", c.MaxSize))
	}
	if c.MaxRequestSize <= 0 || c.MaxRequestSize > c.MaxSize {
		errs = append(errs, fmt.Errorf("max_request_size: must be positive and at most max_size (%d), got %d", c.MaxSize, c.MaxRequestSize))
	}
	r := c.Retry
	if r.InitialInterval <= 0 {
		errs = append(errs, fmt.Errorf("retry.initial_interval: must be positive, got %s", r.InitialInterval))
	}
	if r.MaxInterval < r.InitialInterval {
		errs = append(errs, fmt.Errorf("retry.max_interval: must be at least retry.initial_interval (%s), got %s", r.InitialInterval, r.MaxInterval))
	}
	if r.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("retry.multiplier: must be at least 1, got %g", r.Multiplier))
	}
	if r.Jitter < 0 || r.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("retry.jitter: must be in [0, 1), got %g", r.Jitter))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must not be negative, got %s", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
