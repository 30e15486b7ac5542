package lambdatelemetryreceiver

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sink [][]byte

// A burst past the reference plus slack is released, and the heap after the
// release is the new reference: the next check finds nothing to release.
func TestHeapReleaserReleasesAfterABurst(t *testing.T) {
	const slack = 8 << 20
	runtime.GC()
	h := newHeapReleaser(slack)
	assert.False(t, h.maybeRelease(), "the first check takes the reference")
	base := h.base
	require.Positive(t, base)

	// A burst of more than the bound, live at its peak (as a request's
	// body is), then garbage.
	for range 2 * (base + slack) / (1 << 20) {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	require.Greater(t, h.held(), base+slack)
	assert.True(t, h.maybeRelease(), "released after the burst")
	assert.Less(t, h.base, base+slack, "the new reference is the heap after the release")
	assert.False(t, h.maybeRelease(), "nothing left to release")
}

func TestHeapReleaserOff(t *testing.T) {
	h := newHeapReleaser(0)
	assert.Nil(t, h)
	assert.False(t, h.maybeRelease())
}

// BenchmarkHeapRelease: the cost of one release after a 24 MiB burst (the
// test binary's own heap is the live heap).
func BenchmarkHeapRelease(b *testing.B) {
	h := newHeapReleaser(4 << 20)
	h.maybeRelease()
	for b.Loop() {
		b.StopTimer()
		for range 24 {
			sink = append(sink, make([]byte, 1<<20))
		}
		sink = nil
		b.StartTimer()
		if !h.maybeRelease() {
			b.Fatal("no release after the burst")
		}
	}
}
