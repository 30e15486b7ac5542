package decoupleprocessor

import "fmt"

// Config of the decouple processor.
type Config struct {
	// QueueSize bounds the batches waiting to go downstream. When full,
	// ConsumeX waits for room (back-pressure rather than loss).
	QueueSize int `mapstructure:"queue_size"`
	_         struct{}
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.QueueSize <= 0 {
		return fmt.Errorf("queue_size: must be positive, got %d", c.QueueSize)
	}
	return nil
}
