package invocationsamplingprocessor

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Reasons, the value of the sampling.reason attribute on what is kept.
const (
	reasonError       = "error"
	reasonTimeout     = "timeout"
	reasonCrash       = "crash"
	reasonColdStart   = "cold_start"
	reasonSlow        = "slow"
	reasonUpstream    = "upstream_sampled"
	reasonBaseRate    = "base_rate"
	reasonUndecided   = "undecided"    // released before its invocation ended (flush, orphan, shutdown)
	reasonMemoryLimit = "memory_limit" // released to stay within max_pending_bytes
	reasonSampledOut  = "sampled_out"  // the one reason to drop
)

// decision is what happens to everything of one invocation.
type decision struct {
	keep   bool
	reason string
	// threshold is the sampling threshold of what is kept: 0 (always) for
	// every policy but the base rate.
	threshold sampling.Threshold
	// tvalue and traceState are threshold as a TValue and as the whole
	// tracestate of a span that had none, computed once per decision.
	tvalue     string
	traceState string
}

func newDecision(keep bool, reason string, th sampling.Threshold) *decision {
	d := &decision{keep: keep, reason: reason, threshold: th}
	if keep {
		d.tvalue = th.TValue()
		d.traceState = "ot=th:" + d.tvalue
	}
	return d
}

// outcome is what the receiver's server span says about its invocation.
type outcome struct {
	status   string // aws.lambda.status: success, error, failure, timeout
	failed   bool   // the span's status is Error
	cold     bool
	duration time.Duration
	sampled  bool // the upstream sampled flag, on the span or any held record
	traceID  pcommon.TraceID
}

func outcomeOf(span ptrace.Span) outcome {
	o := outcome{
		failed:   span.Status().Code() == ptrace.StatusCodeError,
		duration: span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()),
		sampled:  span.Flags()&w3cSampled != 0,
		traceID:  span.TraceID(),
	}
	if v, ok := span.Attributes().Get("aws.lambda.status"); ok {
		o.status = strings.ToLower(v.Str())
	}
	if v, ok := span.Attributes().Get("faas.coldstart"); ok {
		o.cold = v.Bool()
	}
	return o
}

// policies applies the configured policies in order.
type policies struct {
	cfg      *Config
	baseRate sampling.Threshold
	recent   *durationWindow
}

func newPolicies(cfg *Config) (*policies, error) {
	th := sampling.NeverSampleThreshold
	if cfg.SamplingPercentage > 0 {
		var err error
		if th, err = sampling.ProbabilityToThreshold(cfg.SamplingPercentage / 100); err != nil {
			return nil, err
		}
	}
	p := &policies{cfg: cfg, baseRate: th}
	if cfg.Slow.Percentile > 0 {
		p.recent = &durationWindow{size: cfg.Slow.Window}
	}
	return p, nil
}

func (p *policies) decide(o outcome) *decision {
	slowOver := p.cfg.Slow.Threshold
	if p.recent != nil {
		if q, ok := p.recent.percentile(p.cfg.Slow.Percentile, p.cfg.Slow.MinInvocations); ok && (slowOver == 0 || q < slowOver) {
			slowOver = q
		}
		p.recent.add(o.duration)
	}
	keep := func(reason string) *decision { return newDecision(true, reason, sampling.AlwaysSampleThreshold) }
	switch {
	case p.cfg.KeepErrors && o.status == "timeout":
		return keep(reasonTimeout)
	case p.cfg.KeepErrors && o.status == "failure":
		return keep(reasonCrash)
	case p.cfg.KeepErrors && (o.failed || o.status != "" && o.status != "success"):
		return keep(reasonError)
	case p.cfg.KeepColdStarts && o.cold:
		return keep(reasonColdStart)
	case slowOver > 0 && o.duration > slowOver:
		return keep(reasonSlow)
	case p.cfg.HonorUpstreamSampled && o.sampled:
		return keep(reasonUpstream)
	case p.baseRate != sampling.NeverSampleThreshold && p.baseRate.ShouldSample(sampling.TraceIDToRandomness(o.traceID)):
		return newDecision(true, reasonBaseRate, p.baseRate)
	}
	return newDecision(false, reasonSampledOut, sampling.NeverSampleThreshold)
}

// durationWindow holds the durations of the last size invocations.
type durationWindow struct {
	size   int
	values []time.Duration
	next   int
	sorted []time.Duration // scratch
}

func (w *durationWindow) add(d time.Duration) {
	if len(w.values) < w.size {
		w.values = append(w.values, d)
		return
	}
	w.values[w.next] = d
	w.next = (w.next + 1) % w.size
}

// percentile is the nearest-rank q-th percentile, once min values are held.
func (w *durationWindow) percentile(q float64, minValues int) (time.Duration, bool) {
	if len(w.values) < minValues {
		return 0, false
	}
	w.sorted = append(w.sorted[:0], w.values...)
	slices.Sort(w.sorted)
	rank := int(math.Ceil(q/100*float64(len(w.sorted)))) - 1
	rank = max(0, min(rank, len(w.sorted)-1))
	return w.sorted[rank], true
}
