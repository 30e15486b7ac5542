package invocationsamplingprocessor

import (
	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

const statsPrefix = "otelcol.invocationsampling."

// counts are the processor's in-band stats; guarded by sampler.mu.
type counts struct {
	invocations map[[2]string]uint64 // decision, reason
	records     map[[2]string]uint64 // signal, reason of a drop
}

func newCounts() counts {
	return counts{invocations: map[[2]string]uint64{}, records: map[[2]string]uint64{}}
}

func (c *counts) invocation(d *decision) {
	decision := "dropped"
	if d.keep {
		decision = "kept"
	}
	c.invocations[[2]string{decision, d.reason}]++
}

func (c *counts) dropped(signal, reason string, n int) {
	if n > 0 {
		c.records[[2]string{signal, reason}] += uint64(n)
	}
}

// stats is the lambdalifecycle.StatsFunc of a sampler.
func (s *sampler) stats() []lambdalifecycle.Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]lambdalifecycle.Stat, 0, len(s.counts.invocations)+len(s.counts.records)+2)
	for k, n := range s.counts.invocations {
		out = append(out, lambdalifecycle.Stat{
			Name: statsPrefix + "invocations", Unit: "{invocation}", Cumulative: true,
			Description: "Invocations decided, by decision (kept, dropped) and the policy that decided.",
			Attributes:  map[string]string{"decision": k[0], "reason": k[1]},
			Value:       float64(n),
		})
	}
	for k, n := range s.counts.records {
		out = append(out, lambdalifecycle.Stat{
			Name: statsPrefix + "dropped_records", Unit: "{record}", Cumulative: true,
			Description: "Spans and log records dropped, by signal and reason (sampled_out: their invocation was not kept).",
			Attributes:  map[string]string{"signal": k[0], "reason": k[1]},
			Value:       float64(n),
		})
	}
	return append(out,
		lambdalifecycle.Stat{Name: statsPrefix + "pending.size", Unit: "By", Description: "Estimated bytes of undecided data held.", Value: float64(s.pendingBytes)},
		lambdalifecycle.Stat{Name: statsPrefix + "pending.groups", Unit: "{invocation}", Description: "Undecided invocations (and unclaimed traces) held.", Value: float64(s.order.Len())},
	)
}

// decisionCache remembers the last size decisions by key (oldest evicted
// first), so late records follow their invocation's decision.
type decisionCache[K comparable] struct {
	m    map[K]*decision
	keys []K
	next int
	size int
}

func newDecisionCache[K comparable](size int) *decisionCache[K] {
	return &decisionCache[K]{m: make(map[K]*decision, size), keys: make([]K, 0, size), size: size}
}

func (c *decisionCache[K]) get(k K) *decision { return c.m[k] }

func (c *decisionCache[K]) put(k K, d *decision) {
	if _, ok := c.m[k]; ok {
		c.m[k] = d
		return
	}
	if len(c.keys) < c.size {
		c.keys = append(c.keys, k)
	} else {
		delete(c.m, c.keys[c.next])
		c.keys[c.next] = k
		c.next = (c.next + 1) % c.size
	}
	c.m[k] = d
}
