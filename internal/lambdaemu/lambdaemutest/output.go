package lambdaemutest

import (
	"bytes"
	"sync"
)

// Output collects what processes write (the emulator copies their lines
// from several goroutines); print it when a test fails.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
