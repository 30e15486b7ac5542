package lambdatelemetryreceiver

import (
	"runtime"
	"runtime/debug"
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

// The GC percent the launcher asks for is set when ready; without the
// variable (or with a value that is no number) it is left as it is.
func TestGCWhenReady(t *testing.T) {
	prev := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(prev)
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, v != "" && k == "OTELCOL_LAMBDA_GOGC_WHEN_READY" }
	}
	gcWhenReady(env(""))
	assert.Equal(t, -1, debug.SetGCPercent(-1), "unchanged without the variable")
	gcWhenReady(env("x"))
	assert.Equal(t, -1, debug.SetGCPercent(-1), "unchanged by a value that is no number")
	gcWhenReady(env("150"))
	assert.Equal(t, 150, debug.SetGCPercent(-1))
}
