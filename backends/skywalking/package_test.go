package skywalking

import (
	"testing"

	"go.uber.org/goleak"
)

// The export tests run a whole collector, an emulator and a gRPC server:
// every goroutine they start must be gone when they end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
