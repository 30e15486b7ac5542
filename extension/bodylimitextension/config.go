package bodylimitextension // import "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"

import "fmt"

// defaultMaxRequestBodySize is the shipped OTLP listener's limit: SDK
// batches are far below it, and it bounds what one request can make the
// extension hold (its memory counts against the function's).
const defaultMaxRequestBodySize = 4 << 20

// Config configures the bodylimit extension.
type Config struct {
	// MaxRequestBodySize is the largest body, in bytes, a request may have;
	// a larger one is answered 413. Set the listener's own
	// max_request_body_size to the same value: it is read first and, below
	// this one, cuts the body on its own (the cut is then answered 413 with
	// its limit).
	MaxRequestBodySize int64 `mapstructure:"max_request_body_size"`
	_                  struct{}
}

func createDefaultConfig() *Config {
	return &Config{MaxRequestBodySize: defaultMaxRequestBodySize}
}

// Validate checks the limit is positive.
func (c *Config) Validate() error {
	if c.MaxRequestBodySize <= 0 {
		return fmt.Errorf("max_request_body_size must be positive, got %d", c.MaxRequestBodySize)
	}
	return nil
}
