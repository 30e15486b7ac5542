package lambdatelemetryreceiver

import (
	"hash/maphash"
	"sync"
)

// dedupWindow is how many recent deliveries are remembered. Lambda re-sends a
// batch soon after a delivery it thinks failed, so a short window suffices.
const dedupWindow = 256

// batchDedup recognises a Telemetry API batch delivered again. It compares
// whole bodies, not events: one function can legitimately write the same line
// twice in the same millisecond, and those must both be kept; a re-sent batch
// is the same bytes. Memory: 8 bytes per remembered batch.
type batchDedup struct {
	seed maphash.Seed
	mu   sync.Mutex
	seen map[uint64]struct{}
	ring []uint64
	next int
}

func newBatchDedup(window int) *batchDedup {
	return &batchDedup{seed: maphash.MakeSeed(), seen: make(map[uint64]struct{}, window), ring: make([]uint64, 0, window)}
}

// firstTime records body and reports whether it had not been seen recently.
func (d *batchDedup) firstTime(body []byte) bool {
	h := maphash.Bytes(d.seed, body)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.seen[h]; dup {
		return false
	}
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, h)
	} else {
		delete(d.seen, d.ring[d.next])
		d.ring[d.next] = h
		d.next = (d.next + 1) % len(d.ring)
	}
	d.seen[h] = struct{}{}
	return true
}
