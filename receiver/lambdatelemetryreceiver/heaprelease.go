package lambdatelemetryreceiver

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// gcWhenReady turns the GC on once the collector is ready, at the percent
// the layer's launcher asked for: it starts the collector with GC off, under
// GOMEMLIMIT, so that Init spends no time in GC cycles (wire.EnvGCPercentWhenReady).
func gcWhenReady(lookupEnv func(string) (string, bool)) {
	if v, ok := lookupEnv(wire.EnvGCPercentWhenReady); ok {
		if percent, err := strconv.Atoi(v); err == nil {
			debug.SetGCPercent(percent)
		}
	}
}

// heapReleaser gives memory back to the OS after a burst. An oversized or
// garbage request on any listener of the process (the OTLP receiver reads a
// body whole before parsing it), or a backlog, grows the heap; the Go runtime
// then keeps the freed memory until its next GC, whose goal the burst raised,
// and returns it at the scavenger's slow pace. In an idle process that is
// the forced GC every two minutes: measured here, RSS took two of them (four
// minutes) to come back, and a frozen environment gets no minutes at all.
// Meanwhile the memory counts against the function's.
//
// So at the start of each invocation (in parallel with the function: the
// environment is thawed, and the billed path after the function's response
// pays nothing) it reads, from
// runtime/metrics (no stop-the-world), how much heap the process holds:
// objects (live or not yet swept) plus unused and free spans not returned to
// the OS. Past what it held after Init or after its last release plus slack,
// it collects and runs debug.FreeOSMemory: GCs of the live heap and a return
// of every free page (BenchmarkHeapRelease: about 1 ms after a 24 MiB
// burst). What it held right after is the new reference, so a heap that has
// really grown is not released again and again. Between GCs the heap legitimately grows up
// to the pacer's goal (twice the live heap): slack leaves room for that, and
// a function whose every invocation allocates more than slack gets a release
// per invocation, which heap_releases shows. GOMEMLIMIT (which the layer's
// launcher sets) bounds a burst, but lets the process keep up to the limit
// afterwards.
type heapReleaser struct {
	mu      sync.Mutex // one check at a time; a check still running is not waited for
	slack   uint64
	samples []metrics.Sample
	base    uint64 // held after Init or the last release; 0 until the first check
}

func newHeapReleaser(slack int64) *heapReleaser {
	if slack <= 0 {
		return nil
	}
	return &heapReleaser{slack: uint64(slack), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
}

// held is the heap memory the process holds and has not returned to the OS.
func (h *heapReleaser) held() uint64 {
	metrics.Read(h.samples)
	var n uint64
	for _, s := range h.samples {
		n += s.Value.Uint64()
	}
	return n
}

// maybeRelease releases the heap if a burst left it past the bound and
// reports whether it did. The first call only takes the reference. A nil
// releaser (heap_release_slack 0) never releases.
func (h *heapReleaser) maybeRelease() bool {
	if h == nil || !h.mu.TryLock() {
		return false
	}
	defer h.mu.Unlock()
	held := h.held()
	if h.base == 0 {
		h.base = held
		return false
	}
	if held <= h.base+h.slack {
		return false
	}
	// Two GCs: sync.Pool keeps what it pooled through one (its victim
	// cache). Measured after the e2e storm: 1-4 MiB more held after one
	// than after two.
	runtime.GC()
	debug.FreeOSMemory()
	h.base = h.held()
	return true
}
