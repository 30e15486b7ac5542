// Package rawhttp is a minimal HTTP/1.1 client written over net, for the
// layer's launcher (layer/launcher), which makes a handful of calls to
// Lambda's Extensions API on loopback: plain HTTP/1.1, small JSON bodies, no
// TLS, redirects, proxies or compression.
//
// It is hand-written because net/http was most of the launcher's cost, and
// the launcher stays resident next to the collector for the life of the
// execution environment. The launcher for amd64 (CGO_ENABLED=0 -trimpath
// -ldflags='-s -w'; medians; lambda-bench and a fake Extensions API), with
// the net/http client (internal/extensionapi) and with this one:
//
//	                                     net/http   rawhttp
//	binary                               6.27 MB    2.86 MB
//	in the layer zip (deflate)           2.69 MB    1.26 MB
//	RSS of the launcher (collector up)   6.5 MiB    3.5 MiB
//	exec → registered (lambda-bench)     3.9 ms     2.6 ms
//
// One request per connection (Connection: close), so a response is read to
// its end and nothing is left for a next request. A response body is framed
// by Transfer-Encoding: chunked, Content-Length or the end of the connection,
// and bounded by MaxBody. (AWS's Runtime Interface Emulator answers with a
// Content-Length: its net/http handlers write each small JSON body at once;
// chunked is read too, in case Lambda's own implementation sends it.) There is no timeout: /event/next is a long poll that
// lasts while the environment is frozen; cancel ctx to abandon a call.
//
// The collector's receiver uses net/http (internal/extensionapi).
package rawhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxBody bounds a response body: Extensions API answers are a few hundred bytes.
	MaxBody = 1 << 20
	// maxLine bounds the status line, a header line and a chunk-size line.
	maxLine = 16 << 10
	// maxHeaders bounds the number of header lines of a response.
	maxHeaders = 128
)

// Header is one header field.
type Header struct{ Name, Value string }

// Response is a whole response.
type Response struct {
	Status int // e.g. 200
	Header []Header
	Body   []byte
}

// Get returns the value of the first header field named name (case-insensitive), or "".
func (r *Response) Get(name string) string {
	for _, h := range r.Header {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Do sends one request to addr (host:port) on a new connection and reads the
// whole response. A body is sent with a Content-Length (also 0, for a POST or
// PUT without one). The returned error is ctx's when ctx ended the call.
func Do(ctx context.Context, addr, method, path string, header []Header, body []byte) (*Response, error) {
	req, err := request(addr, method, path, header, body)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Unblock reads and writes when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	resp, err := roundTrip(conn, req, method == "HEAD")
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

func request(addr, method, path string, header []Header, body []byte) ([]byte, error) {
	if !token(method) {
		return nil, errors.New("rawhttp: invalid method " + strconv.Quote(method))
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n") {
		return nil, errors.New("rawhttp: invalid path " + strconv.Quote(path))
	}
	b := make([]byte, 0, 256+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, addr...)
	b = append(b, "\r\nConnection: close\r\n"...)
	if len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	for _, h := range header {
		if !token(h.Name) || strings.ContainsAny(h.Value, "\r\n\x00") {
			return nil, errors.New("rawhttp: invalid header " + strconv.Quote(h.Name+": "+h.Value))
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...), nil
}

// token: a method or a header name (RFC 9110 tchar).
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func roundTrip(conn net.Conn, req []byte, head bool) (*Response, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 4<<10)
	for {
		resp, err := readHead(r)
		if err != nil {
			return nil, err
		}
		// Informational answers (100 Continue, 103 Early Hints) precede the
		// response; 101 would switch protocols, which nothing here asks for.
		if resp.Status/100 == 1 && resp.Status != 101 {
			continue
		}
		if head || resp.Status/100 == 1 || resp.Status == 204 || resp.Status == 304 {
			return resp, nil
		}
		resp.Body, err = readBody(r, resp)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// readHead reads the status line and the header fields.
func readHead(r *bufio.Reader) (*Response, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, wrap("reading the response", unexpectedEOF(err))
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 || err != nil || status < 100 {
		return nil, errors.New("rawhttp: malformed status line " + strconv.Quote(line))
	}
	resp := &Response{Status: status}
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, wrap("reading the response header", unexpectedEOF(err))
		}
		if line == "" {
			return resp, nil
		}
		if line[0] == ' ' || line[0] == '\t' { // obsolete line folding: a continuation
			if len(resp.Header) == 0 {
				return nil, errors.New("rawhttp: malformed header line " + strconv.Quote(line))
			}
			h := &resp.Header[len(resp.Header)-1]
			h.Value = strings.TrimSpace(h.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !token(name) {
			return nil, errors.New("rawhttp: malformed header line " + strconv.Quote(line))
		}
		if len(resp.Header) == maxHeaders {
			return nil, errors.New("rawhttp: more than " + strconv.Itoa(maxHeaders) + " header fields")
		}
		resp.Header = append(resp.Header, Header{Name: name, Value: strings.Trim(value, " \t")})
	}
}

// readBody reads the body of resp from r, as RFC 9112 section 6.3 frames it.
func readBody(r *bufio.Reader, resp *Response) ([]byte, error) {
	var te, cl []string
	for _, h := range resp.Header {
		switch {
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			te = append(te, h.Value)
		case strings.EqualFold(h.Name, "Content-Length"):
			cl = append(cl, h.Value)
		}
	}
	if len(te) > 0 {
		codings := strings.Split(strings.Join(te, ","), ",")
		if len(codings) != 1 || !strings.EqualFold(strings.TrimSpace(codings[0]), "chunked") {
			return nil, errors.New("rawhttp: unsupported Transfer-Encoding " + strconv.Quote(strings.Join(te, ", ")))
		}
		return readChunked(r)
	}
	if len(cl) > 0 {
		n, err := contentLength(cl)
		if err != nil {
			return nil, err
		}
		if n > MaxBody {
			return nil, errors.New("rawhttp: response body of " + strconv.FormatInt(n, 10) + " bytes is over the limit")
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, wrap("reading the response body", unexpectedEOF(err))
		}
		return body, nil
	}
	// Delimited by the end of the connection.
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, wrap("reading the response body", err)
	}
	if len(body) > MaxBody {
		return nil, errors.New("rawhttp: response body is over the limit")
	}
	return body, nil
}

// contentLength parses Content-Length values: one length, possibly repeated
// (in several fields or as a list), which all must agree.
func contentLength(values []string) (int64, error) {
	n := int64(-1)
	for _, v := range strings.Split(strings.Join(values, ","), ",") {
		v = strings.TrimSpace(v)
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil || m < 0 || v[0] == '+' || (n >= 0 && m != n) {
			return 0, errors.New("rawhttp: invalid Content-Length " + strconv.Quote(strings.Join(values, ", ")))
		}
		n = m
	}
	return n, nil
}

// readChunked decodes a chunked body: chunks of hex-size[;extensions] CRLF
// data CRLF, a last chunk of size 0, trailer fields and an empty line.
func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, wrap("reading a chunk", unexpectedEOF(err))
		}
		sz, _, _ := strings.Cut(line, ";")
		sz = strings.TrimRight(sz, " \t")
		n, err := strconv.ParseUint(sz, 16, 63)
		if err != nil || sz == "" || sz[0] == '+' {
			return nil, errors.New("rawhttp: malformed chunk size " + strconv.Quote(line))
		}
		if n == 0 {
			break
		}
		if uint64(len(body))+n > MaxBody {
			return nil, errors.New("rawhttp: chunked response body is over the limit")
		}
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(r, body[len(body)-int(n):]); err != nil {
			return nil, wrap("reading a chunk", unexpectedEOF(err))
		}
		if end, err := readLine(r); err != nil {
			return nil, wrap("reading a chunk", unexpectedEOF(err))
		} else if end != "" {
			return nil, errors.New("rawhttp: a chunk does not end with CRLF")
		}
	}
	for i := 0; ; i++ { // trailer fields, ignored
		line, err := readLine(r)
		if err != nil {
			return nil, wrap("reading the trailer", unexpectedEOF(err))
		}
		if line == "" {
			if body == nil {
				body = []byte{}
			}
			return body, nil
		}
		if i == maxHeaders {
			return nil, errors.New("rawhttp: more than " + strconv.Itoa(maxHeaders) + " trailer fields")
		}
	}
}

var errLineTooLong = errors.New("line longer than " + strconv.Itoa(maxLine>>10) + " KiB")

// readLine reads a line ending in LF (or CRLF) and returns it without the ending.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > maxLine {
			return "", errLineTooLong
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wrapError is fmt.Errorf("rawhttp: %s: %w"), without fmt.
type wrapError struct {
	msg string
	err error
}

func wrap(msg string, err error) error { return &wrapError{msg: msg, err: err} }

func (e *wrapError) Error() string { return "rawhttp: " + e.msg + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }
