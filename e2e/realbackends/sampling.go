package realbackends

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"
)

// SlowThreshold is the sampled run's slow policy: between the plan's normal
// invocations (tens of ms) and its slow one (hundreds).
const SlowThreshold = 300 * time.Millisecond

// SamplingEnv sets the sampling preset for the sampled run: a 10% base rate
// and SlowThreshold. The percentile policy is off: with a run this short it
// would have no history, and on a longer one it would keep the slowest
// normal invocations too.
var SamplingEnv = []string{
	"OTELCOL_LAMBDA_SAMPLING_PERCENTAGE=10",
	"OTELCOL_LAMBDA_SAMPLING_SLOW_THRESHOLD=" + SlowThreshold.String(),
	"OTELCOL_LAMBDA_SAMPLING_SLOW_PERCENTILE=0",
}

// SamplingPlan is Plan with extra uneventful invocations before the timeout
// (the last), and the caller's X-Ray headers drawn from seed: the base rate
// decides by trace id, so one seed keeps the same invocations every time.
func SamplingPlan(extra int, seed uint64) []Step {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	last := len(Plan) - 1
	plan := slices.Clone(Plan[:last])
	for range extra {
		plan = append(plan, Step{Name: "normal", Payload: `{"text":"It does what it says; nothing more, nothing less."}`})
	}
	plan = append(plan, Plan[last])
	epoch := time.Now().Unix()
	for i := range plan {
		plan[i].TraceHeader = fmt.Sprintf("Root=1-%08x-%016x%08x;Parent=%016x;Sampled=1", epoch, rng.Uint64(), rng.Uint32(), rng.Uint64())
	}
	return plan
}

// Delivered is what the backends hold of one invocation.
type Delivered struct {
	Spans   int    // in Jaeger, in its trace
	Records int    // in VictoriaLogs, with its faas.invocation_id
	Lines   int    // of which the function's log lines
	Reason  string // sampling.reason of its server span (sampled run)
}

// Sampling is one plan run twice against the same backends: with the
// shipped config (trace ids made up by the emulator) and with the sampling
// preset (the plan's trace ids).
type Sampling struct {
	Full, Sampled     Result
	FullAt, SampledAt []Delivered // by plan position
	// The sampled run's in-band counters, from VictoriaMetrics.
	KeptInvocations, DroppedInvocations, DroppedSpans, DroppedRecords float64
}

// RunSampling runs plan with collector-config.yaml, then with
// presets/sampling/collector-config.yaml and SamplingEnv, and reads back what
// the backends hold of each invocation of both runs.
func RunSampling(ctx context.Context, b *Backends, extension, repo, function string, plan []Step, out io.Writer) (*Sampling, error) {
	var s Sampling
	var err error
	unseeded := slices.Clone(plan)
	for i := range unseeded {
		unseeded[i].TraceHeader = ""
	}
	if s.Full, err = Run(ctx, b.Direct(filepath.Join(repo, "collector-config.yaml"), nil), extension, function, unseeded, out); err != nil {
		return nil, fmt.Errorf("unsampled run: %w", err)
	}
	if s.Sampled, err = Run(ctx, b.Direct(filepath.Join(repo, "presets", "sampling", "collector-config.yaml"), SamplingEnv), extension, function, plan, out); err != nil {
		return nil, fmt.Errorf("sampled run: %w", err)
	}
	if err := s.readCounters(ctx, b, len(plan)); err != nil {
		return nil, err
	}
	if s.FullAt, err = b.delivered(ctx, s.Full.Invocations, len(plan)); err != nil {
		return nil, err
	}
	if s.SampledAt, err = b.delivered(ctx, s.Sampled.Invocations, int(s.KeptInvocations)); err != nil {
		return nil, err
	}
	return &s, nil
}

// readCounters waits (up to 30 s: new series take a moment to become
// searchable) until the counters account for every invocation of the run.
func (s *Sampling) readCounters(ctx context.Context, b *Backends, invocations int) error {
	const name = `__name__="otelcol.invocationsampling.`
	for range 60 {
		if err := b.Flush(ctx); err != nil {
			return err
		}
		for _, c := range []struct {
			v     *float64
			query string
		}{
			{&s.KeptInvocations, `sum({` + name + `invocations",decision="kept"})`},
			{&s.DroppedInvocations, `sum({` + name + `invocations",decision="dropped"})`},
			{&s.DroppedSpans, `sum({` + name + `dropped_records",signal="spans"})`},
			{&s.DroppedRecords, `sum({` + name + `dropped_records",signal="logs"})`},
		} {
			v, _, err := b.Metric(ctx, c.query)
			if err != nil {
				return err
			}
			*c.v = v
		}
		if int(s.KeptInvocations+s.DroppedInvocations) == invocations {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("otelcol.invocationsampling.invocations counts %v kept + %v dropped of %d invocations",
		s.KeptInvocations, s.DroppedInvocations, invocations)
}

// delivered reads what the backends hold of each invocation. Jaeger stores
// asynchronously (a batch processor): it waits (up to 30 s) until servers
// invocations have their server span and two reads agree.
func (b *Backends) delivered(ctx context.Context, invs []Invocation, servers int) ([]Delivered, error) {
	var prev []Delivered
	for range 60 {
		at := make([]Delivered, len(invs))
		found := 0
		for i, inv := range invs {
			spans, err := b.Trace(ctx, inv.TraceID)
			if err != nil {
				return nil, err
			}
			at[i].Spans = len(spans)
			for _, sp := range spans {
				if sp.Tag("span.kind") == "server" {
					found++
					at[i].Reason = sp.Tag("sampling.reason")
				}
			}
			recs, err := b.Logs(ctx, `faas.invocation_id:="`+inv.RequestID+`"`)
			if err != nil {
				return nil, err
			}
			at[i].Records = len(recs)
			for _, r := range recs {
				if r["aws.lambda.telemetry.type"] == "function" {
					at[i].Lines++
				}
			}
		}
		if found == servers && slices.Equal(at, prev) {
			return at, nil
		}
		prev = at
		time.Sleep(500 * time.Millisecond)
	}
	return prev, fmt.Errorf("Jaeger holds no steady set of %d server spans of the run's %d invocations", servers, len(invs))
}

// Whole reports whether the sampled run's invocation i reached the backends
// whole: as many spans and log records as the same invocation of the
// unsampled run, and every function line Lambda delivered.
func (s *Sampling) Whole(i int) bool {
	got, want := s.SampledAt[i], s.FullAt[i]
	return got.Spans == want.Spans && got.Records == want.Records &&
		got.Lines == s.Sampled.FunctionLines[s.Sampled.Invocations[i].RequestID]
}

// Dropped reports whether nothing of the sampled run's invocation i reached
// the backends.
func (s *Sampling) Dropped(i int) bool { return s.SampledAt[i] == Delivered{} }

// Totals are the spans and log records of all invocations of a run.
func Totals(at []Delivered) (spans, records int) {
	for _, d := range at {
		spans += d.Spans
		records += d.Records
	}
	return spans, records
}
