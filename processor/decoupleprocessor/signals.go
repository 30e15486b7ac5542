package decoupleprocessor

import (
	"context"
	"math"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor/internal/spool"
)

// Each signal is one route of the shared spool. routeUnknown is for a file
// whose header cannot be read (or of a newer binary's route).
const (
	routeUnknown spool.Route = iota
	routeTraces
	routeMetrics
	routeLogs
	numRoutes
)

var routeNames = [numRoutes]string{"unknown", "traces", "metrics", "logs"}

// known maps a route read from disk to one this binary has a name for.
func known(r spool.Route) spool.Route {
	if r >= numRoutes {
		return routeUnknown
	}
	return r
}

// signal is what the spool needs to know about one kind of pdata.
type signal[T any] struct {
	route     spool.Route
	count     func(T) int
	marshal   func(T) ([]byte, error)
	unmarshal func([]byte) (T, error)
	// appendTo moves src's resources to the end of dst.
	appendTo func(src, dst T)
}

var (
	tracesSignal = signal[ptrace.Traces]{
		route:     routeTraces,
		count:     ptrace.Traces.SpanCount,
		marshal:   (&ptrace.ProtoMarshaler{}).MarshalTraces,
		unmarshal: (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces,
		appendTo:  func(src, dst ptrace.Traces) { src.ResourceSpans().MoveAndAppendTo(dst.ResourceSpans()) },
	}
	metricsSignal = signal[pmetric.Metrics]{
		route:     routeMetrics,
		count:     pmetric.Metrics.DataPointCount,
		marshal:   (&pmetric.ProtoMarshaler{}).MarshalMetrics,
		unmarshal: (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics,
		appendTo:  func(src, dst pmetric.Metrics) { src.ResourceMetrics().MoveAndAppendTo(dst.ResourceMetrics()) },
	}
	logsSignal = signal[plog.Logs]{
		route:     routeLogs,
		count:     plog.Logs.LogRecordCount,
		marshal:   (&plog.ProtoMarshaler{}).MarshalLogs,
		unmarshal: (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
		appendTo:  func(src, dst plog.Logs) { src.ResourceLogs().MoveAndAppendTo(dst.ResourceLogs()) },
	}
)

// requestBuilder merges spooled items of one signal into one request for
// the next consumer. Only its route's sender uses it.
type requestBuilder interface {
	// addKept appends item seq from memory, if it is still kept there.
	addKept(seq uint64) bool
	// add decodes a payload and appends it to the request being built.
	add(payload []byte) error
	// send sends the request built so far and starts a new one.
	send(ctx context.Context) error
}

type signalRequest[T any] struct {
	sig  *signal[T]
	next func(context.Context, T) error
	kept keptItems[T]
	req  T
	n    int
}

func (r *signalRequest[T]) addKept(seq uint64) bool {
	data, ok := r.kept.take(seq)
	if ok {
		r.append(data)
	}
	return ok
}

func (r *signalRequest[T]) add(payload []byte) error {
	data, err := r.sig.unmarshal(payload)
	if err != nil {
		return err
	}
	r.append(data)
	return nil
}

func (r *signalRequest[T]) append(data T) {
	if r.n == 0 {
		r.req = data
	} else {
		r.sig.appendTo(data, r.req)
	}
	r.n++
}

func (r *signalRequest[T]) send(ctx context.Context) error {
	req := r.req
	var zero T
	r.req, r.n = zero, 0
	return r.next(ctx, req)
}

// keptItems holds a route's newest spooled items in memory as well, decoded,
// up to max bytes of their encoded size (one request's worth), so that their
// first send skips reading and decoding their files: the common case, where
// data leaves soon after it came (BENCHMARKS.md, "The spool's hot path"). A
// send takes an item out of memory; a retry reads its file.
type keptItems[T any] struct {
	mu    sync.Mutex
	max   int
	bytes int
	items map[uint64]keptItem[T] // by sequence number; a handful at most
}

type keptItem[T any] struct {
	data T
	size int
}

func (k *keptItems[T]) keep(seq uint64, data T, size int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if size > k.max {
		return
	}
	if k.items == nil {
		k.items = map[uint64]keptItem[T]{}
	}
	for k.bytes+size > k.max {
		oldest := uint64(math.MaxUint64)
		for s := range k.items {
			oldest = min(oldest, s)
		}
		k.bytes -= k.items[oldest].size
		delete(k.items, oldest)
	}
	k.items[seq] = keptItem[T]{data, size}
	k.bytes += size
}

// take returns item seq's data and forgets it, and the older items too: a
// route's items are sent oldest first, so those were sent or read from their
// files already.
func (k *keptItems[T]) take(seq uint64) (T, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for s, it := range k.items {
		if s < seq {
			k.bytes -= it.size
			delete(k.items, s)
		}
	}
	it, ok := k.items[seq]
	if ok {
		k.bytes -= it.size
		delete(k.items, seq)
	}
	return it.data, ok
}

// One adapter per signal gives the generic instance its ConsumeX method.

type tracesProcessor struct{ *instance[ptrace.Traces] }

func (p tracesProcessor) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	return p.consume(td)
}

type metricsProcessor struct{ *instance[pmetric.Metrics] }

func (p metricsProcessor) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	return p.consume(md)
}

type logsProcessor struct{ *instance[plog.Logs] }

func (p logsProcessor) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	return p.consume(ld)
}
