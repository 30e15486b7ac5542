package invocationsamplingprocessor

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

const (
	// receiverScope is the lambdatelemetry receiver's instrumentation scope:
	// its server spans (kind server, with faas.invocation_id) end their
	// invocation. The function's own server spans may carry the same
	// attribute; they are data of the invocation, not its end.
	receiverScope    = "github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"
	attrInvocationID = "faas.invocation_id"
	attrReason       = "sampling.reason"
	// w3cSampled is the W3C trace flags' sampled bit (a span's Flags).
	w3cSampled = 0x01
	// attrThreshold carries a log record's sampling threshold (a TValue),
	// as contrib's probabilistic sampler does for logs.
	attrThreshold = "sampling.threshold"
)

// group is the undecided data of one invocation (or of one trace that no
// invocation has claimed yet).
type group struct {
	invID    string
	traceIDs []pcommon.TraceID
	traces   ptrace.Traces
	logs     plog.Logs
	bytes    int64
	born     uint64 // invocations decided when the group was created
	sampled  bool   // a record carried the upstream sampled flag
	elem     *list.Element
}

// emission is data to hand downstream once the lock is released.
type emission struct {
	traces []ptrace.Traces
	logs   []plog.Logs
}

// sampler is the state shared by the traces and logs pipelines of one
// processor config.
type sampler struct {
	cfg *Config
	pol *policies

	mu             sync.Mutex
	nextTraces     consumer.Traces
	nextLogs       consumer.Logs
	byInv          map[string]*group
	byTrace        map[pcommon.TraceID]*group
	order          list.List // pending groups, oldest first
	pendingBytes   int64
	decided        uint64
	invDecisions   *decisionCache[string]
	traceDecisions *decisionCache[pcommon.TraceID]
	counts         counts

	tracesSizer ptrace.ProtoMarshaler
	logsSizer   plog.ProtoMarshaler
}

func newSampler(cfg *Config) (*sampler, error) {
	pol, err := newPolicies(cfg)
	if err != nil {
		return nil, err
	}
	return &sampler{
		cfg: cfg, pol: pol,
		byInv: map[string]*group{}, byTrace: map[pcommon.TraceID]*group{},
		invDecisions:   newDecisionCache[string](cfg.DecisionCacheSize),
		traceDecisions: newDecisionCache[pcommon.TraceID](cfg.DecisionCacheSize),
		counts:         newCounts(),
	}, nil
}

// consumeTraces decides the invocations whose server span is in td, then
// keeps, drops or holds every span of td by its invocation's decision.
func (s *sampler) consumeTraces(ctx context.Context, td ptrace.Traces) error {
	var em emission
	s.mu.Lock()
	s.decideEndedLocked(td, &em)
	s.filterTracesLocked(td)
	if td.SpanCount() > 0 {
		em.traces = append(em.traces, td)
	}
	s.enforceLimitLocked(&em)
	s.mu.Unlock()
	return s.emit(ctx, em)
}

// consumeLogs keeps, drops or holds every record of ld by its invocation's
// decision.
func (s *sampler) consumeLogs(ctx context.Context, ld plog.Logs) error {
	var em emission
	s.mu.Lock()
	s.filterLogsLocked(ld)
	if ld.LogRecordCount() > 0 {
		em.logs = append(em.logs, ld)
	}
	s.enforceLimitLocked(&em)
	s.mu.Unlock()
	return s.emit(ctx, em)
}

func (s *sampler) decideEndedLocked(td ptrace.Traces, em *emission) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			if ss.Scope().Name() != receiverScope {
				continue
			}
			for _, span := range ss.Spans().All() {
				if span.Kind() != ptrace.SpanKindServer {
					continue
				}
				if id, ok := span.Attributes().Get(attrInvocationID); ok && id.Str() != "" {
					s.decideLocked(id.Str(), outcomeOf(span), em)
				}
			}
		}
	}
}

// decideLocked decides an invocation that ended (a redelivered server span
// changes nothing) and releases what is held of it.
func (s *sampler) decideLocked(invID string, o outcome, em *emission) {
	if s.invDecisions.get(invID) != nil {
		return
	}
	g := s.byInv[invID]
	if tg := s.byTrace[o.traceID]; tg != nil && tg != g && tg.invID == "" {
		if g == nil {
			g = tg
		} else {
			s.mergeLocked(g, tg)
		}
	}
	if g != nil && g.sampled {
		o.sampled = true
	}
	d := s.pol.decide(o)
	s.invDecisions.put(invID, d)
	s.traceDecisions.put(o.traceID, d)
	s.decided++
	s.counts.invocation(d)
	if g != nil {
		s.releaseLocked(g, d, em)
	}
	// Data no invocation claimed after several more ended is nobody's to
	// decide: keep it.
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		g := e.Value.(*group)
		if s.decided-g.born <= uint64(s.cfg.OrphanAfter) {
			break
		}
		s.releaseUndecidedLocked(g, reasonUndecided, em)
	}
}

// lookupLocked is the decision a record follows: its invocation's when it
// names one (two invocations may share a caller's trace), else its trace's.
func (s *sampler) lookupLocked(invID string, traceID pcommon.TraceID) *decision {
	if invID != "" {
		return s.invDecisions.get(invID)
	}
	return s.traceDecisions.get(traceID)
}

// groupLocked returns the pending group of a record, creating it or
// merging a trace's group into its invocation's.
func (s *sampler) groupLocked(invID string, traceID pcommon.TraceID) *group {
	var g *group
	if invID != "" {
		g = s.byInv[invID]
	}
	if !traceID.IsEmpty() {
		if tg := s.byTrace[traceID]; tg != nil && tg != g {
			switch {
			case g == nil && (invID == "" || tg.invID == ""):
				g = tg
				if invID != "" {
					g.invID = invID
					s.byInv[invID] = g
				}
			case g != nil && tg.invID == "":
				s.mergeLocked(g, tg)
			}
		}
	}
	if g == nil {
		g = &group{invID: invID, traces: ptrace.NewTraces(), logs: plog.NewLogs(), born: s.decided}
		g.elem = s.order.PushBack(g)
		if invID != "" {
			s.byInv[invID] = g
		}
	}
	if !traceID.IsEmpty() && s.byTrace[traceID] == nil {
		s.byTrace[traceID] = g
		g.traceIDs = append(g.traceIDs, traceID)
	}
	return g
}

// mergeLocked moves from's data and trace ids into g.
func (s *sampler) mergeLocked(g, from *group) {
	from.traces.ResourceSpans().MoveAndAppendTo(g.traces.ResourceSpans())
	from.logs.ResourceLogs().MoveAndAppendTo(g.logs.ResourceLogs())
	g.bytes += from.bytes
	g.sampled = g.sampled || from.sampled
	g.born = min(g.born, from.born)
	for _, id := range from.traceIDs {
		s.byTrace[id] = g
	}
	g.traceIDs = append(g.traceIDs, from.traceIDs...)
	s.order.Remove(from.elem)
}

// releaseLocked forgets g and hands its data on as d says.
func (s *sampler) releaseLocked(g *group, d *decision, em *emission) {
	s.order.Remove(g.elem)
	s.pendingBytes -= g.bytes
	if g.invID != "" {
		delete(s.byInv, g.invID)
	}
	for _, id := range g.traceIDs {
		delete(s.byTrace, id)
		s.traceDecisions.put(id, d)
	}
	if !d.keep {
		s.counts.dropped("spans", d.reason, g.traces.SpanCount())
		s.counts.dropped("logs", d.reason, g.logs.LogRecordCount())
		return
	}
	annotateTraces(g.traces, d)
	annotateLogs(g.logs, d)
	if g.traces.SpanCount() > 0 {
		em.traces = append(em.traces, g.traces)
	}
	if g.logs.LogRecordCount() > 0 {
		em.logs = append(em.logs, g.logs)
	}
}

// releaseUndecidedLocked keeps g whole before its invocation ended; what
// comes of it later follows.
func (s *sampler) releaseUndecidedLocked(g *group, reason string, em *emission) {
	d := newDecision(true, reason, alwaysSample)
	if g.invID != "" {
		s.invDecisions.put(g.invID, d)
		s.counts.invocation(d)
	}
	s.releaseLocked(g, d, em)
}

// releaseAllLocked keeps every pending group (a flush before a freeze that
// must not hold data, or a shutdown).
func (s *sampler) releaseAllLocked(em *emission) {
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		s.releaseUndecidedLocked(e.Value.(*group), reasonUndecided, em)
	}
}

// enforceLimitLocked keeps the oldest pending groups until the rest fits
// max_pending_bytes. It runs after a whole batch was filed: a group being
// filled is never released half way.
func (s *sampler) enforceLimitLocked(em *emission) {
	for s.pendingBytes > s.cfg.MaxPendingBytes && s.order.Len() > 0 {
		s.releaseUndecidedLocked(s.order.Front().Value.(*group), reasonMemoryLimit, em)
	}
}

// holder files the held records of one batch into their groups, copying
// each resource and scope once per group.
type holder[S any] struct {
	dest map[holderKey]S
}

type holderKey struct {
	g      *group
	rs, ss int
}

func (h *holder[S]) get(k holderKey, create func() S) S {
	if h.dest == nil {
		h.dest = map[holderKey]S{}
	}
	d, ok := h.dest[k]
	if !ok {
		d = create()
		h.dest[k] = d
	}
	return d
}

// fateLocked is what happens to one record: it follows a decision (d; a
// drop is counted here, a keep is for the caller to annotate), is held in
// g (the caller moves it there; size is added), or is nobody's (both nil)
// and passes as it is.
func (s *sampler) fateLocked(attrs pcommon.Map, traceID pcommon.TraceID, sampled bool, signal string, size int64) (*decision, *group) {
	var invID string
	if v, ok := attrs.Get(attrInvocationID); ok {
		invID = v.Str()
	}
	if invID == "" && traceID.IsEmpty() {
		return nil, nil
	}
	if d := s.lookupLocked(invID, traceID); d != nil {
		if !d.keep {
			s.counts.dropped(signal, d.reason, 1)
		}
		return d, nil
	}
	g := s.groupLocked(invID, traceID)
	g.sampled = g.sampled || sampled
	g.bytes += size
	s.pendingBytes += size
	return nil, g
}

// filterTracesLocked and filterLogsLocked estimate the held size of a record
// as its batch's average encoded size, measured before filtering starts
// (RemoveIf leaves holes until it ends).
func (s *sampler) filterTracesLocked(td ptrace.Traces) {
	var h holder[ptrace.SpanSlice]
	size := int64(s.tracesSizer.TracesSize(td) / max(1, td.SpanCount()))
	ri := 0
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		si := 0
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				d, g := s.fateLocked(span.Attributes(), span.TraceID(), span.Flags()&w3cSampled != 0, "spans", size)
				switch {
				case d != nil && d.keep:
					annotateSpan(span, d)
				case g != nil:
					span.MoveTo(h.get(holderKey{g, ri, si}, func() ptrace.SpanSlice {
						nrs := g.traces.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(nrs.Resource())
						nss := nrs.ScopeSpans().AppendEmpty()
						ss.Scope().CopyTo(nss.Scope())
						nrs.SetSchemaUrl(rs.SchemaUrl())
						nss.SetSchemaUrl(ss.SchemaUrl())
						return nss.Spans()
					}).AppendEmpty())
				}
				return d != nil && !d.keep || g != nil
			})
			si++
			return ss.Spans().Len() == 0
		})
		ri++
		return rs.ScopeSpans().Len() == 0
	})
}

func (s *sampler) filterLogsLocked(ld plog.Logs) {
	var h holder[plog.LogRecordSlice]
	size := int64(s.logsSizer.LogsSize(ld) / max(1, ld.LogRecordCount()))
	ri := 0
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		si := 0
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				d, g := s.fateLocked(lr.Attributes(), lr.TraceID(), lr.Flags().IsSampled(), "logs", size)
				switch {
				case d != nil && d.keep:
					annotateLog(lr, d)
				case g != nil:
					lr.MoveTo(h.get(holderKey{g, ri, si}, func() plog.LogRecordSlice {
						nrl := g.logs.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(nrl.Resource())
						nsl := nrl.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(nsl.Scope())
						nrl.SetSchemaUrl(rl.SchemaUrl())
						nsl.SetSchemaUrl(sl.SchemaUrl())
						return nsl.LogRecords()
					}).AppendEmpty())
				}
				return d != nil && !d.keep || g != nil
			})
			si++
			return sl.LogRecords().Len() == 0
		})
		ri++
		return rl.ScopeLogs().Len() == 0
	})
}

// emit hands released data downstream. A signal whose pipeline already
// shut down counts its records as dropped.
func (s *sampler) emit(ctx context.Context, em emission) error {
	s.mu.Lock()
	nextTraces, nextLogs := s.nextTraces, s.nextLogs
	s.mu.Unlock()
	var errs []error
	for _, td := range em.traces {
		if nextTraces == nil {
			s.countDropped("spans", "no_pipeline", td.SpanCount())
			continue
		}
		errs = append(errs, nextTraces.ConsumeTraces(ctx, td))
	}
	for _, ld := range em.logs {
		if nextLogs == nil {
			s.countDropped("logs", "no_pipeline", ld.LogRecordCount())
			continue
		}
		errs = append(errs, nextLogs.ConsumeLogs(ctx, ld))
	}
	return errors.Join(errs...)
}

func (s *sampler) countDropped(signal, reason string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.dropped(signal, reason, n)
}

// drain is the lifecycle hook. Blocking and Final flushes come once the
// invocation's end was handled (or waited for in vain): what is still
// undecided then is kept, never held through a freeze that may be the
// last. Background and catch-up flushes run while the function may still be
// writing, so they leave pending data to its decision.
func (s *sampler) drain(ctx context.Context, mode lambdalifecycle.Mode) error {
	if mode == lambdalifecycle.Background || mode == lambdalifecycle.CatchUp {
		return nil
	}
	return s.flush(ctx)
}

// flush keeps and hands on everything pending.
func (s *sampler) flush(ctx context.Context) error {
	var em emission
	s.mu.Lock()
	s.releaseAllLocked(&em)
	s.mu.Unlock()
	return s.emit(ctx, em)
}
