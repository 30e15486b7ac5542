package bodylimitextension // import "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.uber.org/zap"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lambda-o11y/otelcol-lambda/lambdalifecycle"
)

// bodyLimit answers 413 to requests whose body exceeds the limit. confighttp
// runs server middlewares inside its own body limit and decompression, so
// the body it sees is the one the handler would read, decompressed.
type bodyLimit struct {
	id         component.ID
	limit      int64
	logger     *zap.Logger
	registry   *lambdalifecycle.Registry
	refused    atomic.Int64
	unregister func()
}

var (
	_ extension.Extension            = (*bodyLimit)(nil)
	_ extensionmiddleware.HTTPServer = (*bodyLimit)(nil)
)

func newBodyLimit(set extension.Settings, cfg *Config, registry *lambdalifecycle.Registry) *bodyLimit {
	return &bodyLimit{id: set.ID, limit: cfg.MaxRequestBodySize, logger: set.Logger, registry: registry}
}

func (b *bodyLimit) Start(context.Context, component.Host) error {
	b.unregister = b.registry.RegisterStats(b.stats)
	return nil
}

func (b *bodyLimit) Shutdown(context.Context) error {
	if b.unregister != nil {
		b.unregister()
	}
	return nil
}

// GetHTTPHandler wraps a listener's handler.
func (b *bodyLimit) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.serveHTTP(w, r, next) }), nil
	}, nil
}

// serveHTTP refuses a body from its Content-Length before a byte of it is
// read. A body without one (chunked, or decompressed by confighttp) is cut
// once reading passes the limit, and whatever the handler then answers (the
// OTLP receiver: 400 for any read error) becomes the 413.
//
// The rest of a refused body is not read: net/http closes the connection
// after the answer. Go's client and curl read the 413 either way; a client
// that writes its whole body before it reads (Python's urllib) may see a
// reset instead. Draining could not help: the listener's own limit, outside
// this middleware, stops reading at max_request_body_size.
func (b *bodyLimit) serveHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.ContentLength > b.limit {
		b.refuse(w, r, fmt.Errorf("request body of %d bytes exceeds max_request_body_size (%d bytes)", r.ContentLength, b.limit))
		return
	}
	body := &limitedBody{ReadCloser: r.Body, limit: b.limit}
	r.Body = body
	next.ServeHTTP(&refusingWriter{ResponseWriter: w, req: r, body: body, b: b}, r)
}

// refuse answers 413 with err's message and counts the request. The message
// is a google.rpc.Status in the request's OTLP encoding (what OTLP clients
// read an error from), plain text for any other content type.
func (b *bodyLimit) refuse(w http.ResponseWriter, r *http.Request, err error) {
	n := b.refused.Add(1)
	b.logger.Warn("Refused an oversized request body", zap.String("path", r.URL.Path),
		zap.Int64("refused_requests", n), zap.Error(err))
	contentType, msg := "text/plain; charset=utf-8", []byte(err.Error())
	st := &spb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var enc []byte
	var encErr error
	switch mediaType {
	case "application/x-protobuf":
		enc, encErr = proto.Marshal(st)
	case "application/json":
		enc, encErr = protojson.Marshal(st)
	}
	if enc != nil && encErr == nil {
		contentType, msg = mediaType, enc
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = w.Write(msg)
}

// limitedBody reads at most limit bytes. Past them, or when the
// listener's own limit cuts the body first, it remembers the overflow.
type limitedBody struct {
	io.ReadCloser
	limit, read int64
	overflow    error
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.overflow != nil {
		return 0, l.overflow
	}
	// One byte more than is left tells a body that ends at the limit from
	// one that goes on.
	if left := l.limit - l.read; int64(len(p)) > left+1 {
		p = p[:left+1]
	}
	n, err := l.ReadCloser.Read(p)
	l.read += int64(n)
	if l.read > l.limit {
		l.overflow = fmt.Errorf("request body exceeds max_request_body_size (%d bytes)", l.limit)
		return n - int(l.read-l.limit), l.overflow
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		l.overflow = fmt.Errorf("request body exceeds max_request_body_size (%d bytes)", tooLarge.Limit)
	}
	return n, err
}

// refusingWriter turns the handler's answer into the 413 once the body
// overflowed; before that it passes everything through.
type refusingWriter struct {
	http.ResponseWriter
	req     *http.Request
	body    *limitedBody
	b       *bodyLimit
	refused bool
}

func (w *refusingWriter) WriteHeader(status int) {
	switch {
	case w.refused:
	case w.body.overflow != nil:
		w.refused = true
		w.b.refuse(w.ResponseWriter, w.req, w.body.overflow)
	default:
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *refusingWriter) Write(p []byte) (int, error) {
	if !w.refused && w.body.overflow != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}
	if w.refused {
		// The handler's own message about the cut body is replaced.
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the listener's writer.
func (w *refusingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

const statsPrefix = "otelcol.bodylimit."

// stats are the extension's in-band stats (lambdalifecycle.Registry.Stats),
// exported with the lambdatelemetry receiver's metrics.
func (b *bodyLimit) stats() []lambdalifecycle.Stat {
	return []lambdalifecycle.Stat{{
		Name: statsPrefix + "refused_requests", Unit: "{request}", Cumulative: true,
		Description: "HTTP requests answered 413 because their body exceeded max_request_body_size.",
		Attributes:  map[string]string{"bodylimit": b.id.String()},
		Value:       float64(b.refused.Load()),
	}}
}
