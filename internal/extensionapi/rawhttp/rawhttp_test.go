package rawhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func addrOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func ctxWithTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The request as net/http's server reads it, and a Content-Length answer.
func TestRequestAndResponse(t *testing.T) {
	type seen struct {
		method, path, host, contentType, name, body string
		contentLength                               int64
		close                                       bool
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Host, r.Header.Get("Content-Type"), r.Header.Get("Lambda-Extension-Name"), string(b), r.ContentLength, r.Close}
		w.Header().Set("Lambda-Extension-Identifier", "id-1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"functionName":"fn"}`)
	}))
	defer srv.Close()

	resp, err := Do(ctxWithTimeout(t), addrOf(srv), "POST", "/2020-01-01/extension/register",
		[]Header{{"Lambda-Extension-Name", "otelcol-lambda"}, {"Content-Type", "application/json"}}, []byte(`{"events":["INVOKE"]}`))
	require.NoError(t, err)
	assert.Equal(t, seen{"POST", "/2020-01-01/extension/register", addrOf(srv), "application/json", "otelcol-lambda", `{"events":["INVOKE"]}`, 21, true}, <-got)
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, "id-1", resp.Get("lambda-extension-identifier"), "names compare case-insensitively")
	assert.Empty(t, resp.Get("X-Absent"))
	assert.Equal(t, `{"functionName":"fn"}`, string(resp.Body))

	// A POST without a body still says its length; a GET without one does not.
	_, err = Do(ctxWithTimeout(t), addrOf(srv), "POST", "/empty", nil, nil)
	require.NoError(t, err)
	s := <-got
	assert.Equal(t, int64(0), s.contentLength)
	_, err = Do(ctxWithTimeout(t), addrOf(srv), "GET", "/next", nil, nil)
	require.NoError(t, err)
	s = <-got
	assert.Equal(t, "GET", s.method)
	assert.Equal(t, int64(0), s.contentLength)
}

// net/http's server answers in chunks once a handler flushes, or writes more
// than its buffer without a Content-Length.
func TestChunked(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 10<<10) // 160 KiB: chunks longer than the read buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, `{"eventType":`)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, `"SHUTDOWN"}`)
	}))
	defer srv.Close()

	resp, err := Do(ctxWithTimeout(t), addrOf(srv), "GET", "/flushed", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "chunked", resp.Get("Transfer-Encoding"))
	assert.Equal(t, `{"eventType":"SHUTDOWN"}`, string(resp.Body))

	resp, err = Do(ctxWithTimeout(t), addrOf(srv), "GET", "/big", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "chunked", resp.Get("Transfer-Encoding"))
	assert.Equal(t, big, string(resp.Body))
}

// A non-2xx status is an answer, with its body, not an error.
func TestErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errorType":"Extension.InvalidExtensionState","errorMessage":"no"}`)
	}))
	defer srv.Close()
	resp, err := Do(ctxWithTimeout(t), addrOf(srv), "POST", "/init/error", nil, []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.Status)
	assert.JSONEq(t, `{"errorType":"Extension.InvalidExtensionState","errorMessage":"no"}`, string(resp.Body))
}

// A long poll waits as long as the server takes; ctx abandons it.
func TestLongPollAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			_, _ = io.WriteString(w, `{"eventType":"INVOKE"}`)
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	done := make(chan error, 1)
	go func() {
		resp, err := Do(context.Background(), addrOf(srv), "GET", "/next", nil, nil)
		if err == nil && string(resp.Body) != `{"eventType":"INVOKE"}` {
			err = errors.New("body " + string(resp.Body))
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("returned before the server answered: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	release <- struct{}{}
	require.NoError(t, <-done)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := Do(ctx, addrOf(srv), "GET", "/next", nil, nil)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled call did not return")
	}
}

// rawServer answers one request with the bytes given, then closes the connection.
func rawServer(t *testing.T, response string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for { // the request head; the tests send no body
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(conn, response)
	}()
	return ln.Addr().String()
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name, response, body string
		status               int
		head                 bool
	}{
		{name: "content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello"},
		{name: "content-length repeated", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\nhello", status: 200, body: "hello"},
		{name: "until close", response: "HTTP/1.0 200 OK\r\n\r\nto the end", status: 200, body: "to the end"},
		{name: "bare LF line ends", response: "HTTP/1.1 202 Accepted\nContent-Length: 2\n\nok", status: 202, body: "ok"},
		{name: "no reason phrase", response: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "chunked with extensions and trailers",
			response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
			status:   200, body: "hello 0123456789"},
		{name: "chunked, empty", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 200, body: ""},
		{name: "chunked wins over content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, body: "ok"},
		{name: "100 continue first", response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "204 has no body", response: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{name: "HEAD has no body", response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", status: 200, head: true},
		{name: "folded header", response: "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 0\r\n\r\n", status: 200, body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if tt.head {
				method = "HEAD"
			}
			resp, err := Do(ctxWithTimeout(t), rawServer(t, tt.response), method, "/", nil, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.Status)
			assert.Equal(t, tt.body, string(resp.Body))
			if tt.name == "folded header" {
				assert.Equal(t, "a b", resp.Get("X-Long"))
			}
		})
	}
}

func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name, response, want string
		is                   error
	}{
		{name: "closed before answering", response: "", is: io.ErrUnexpectedEOF},
		{name: "not HTTP", response: "SSH-2.0-OpenSSH\r\n\r\n", want: "malformed status line"},
		{name: "bad status", response: "HTTP/1.1 2x0 OK\r\n\r\n", want: "malformed status line"},
		{name: "bad header", response: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", want: "malformed header line"},
		{name: "short body", response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", is: io.ErrUnexpectedEOF},
		{name: "conflicting lengths", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", want: "invalid Content-Length"},
		{name: "negative length", response: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", want: "invalid Content-Length"},
		{name: "body over the limit", response: "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", want: "over the limit"},
		{name: "chunked over the limit", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", want: "over the limit"},
		{name: "bad chunk size", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", want: "malformed chunk size"},
		{name: "chunk without CRLF", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", want: "does not end with CRLF"},
		{name: "chunked cut short", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", is: io.ErrUnexpectedEOF},
		{name: "no last chunk", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", is: io.ErrUnexpectedEOF},
		{name: "unsupported coding", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: "unsupported Transfer-Encoding"},
		{name: "line too long", response: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 20<<10) + "\r\n\r\n", is: errLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Do(ctxWithTimeout(t), rawServer(t, tt.response), "GET", "/", nil, nil)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	ctx := ctxWithTimeout(t)
	for name, call := range map[string]func() error{
		"header value with CRLF": func() error {
			_, err := Do(ctx, "127.0.0.1:1", "GET", "/", []Header{{"X", "a\r\nInjected: yes"}}, nil)
			return err
		},
		"header name with a space": func() error { _, err := Do(ctx, "127.0.0.1:1", "GET", "/", []Header{{"X Y", "a"}}, nil); return err },
		"path without a slash":     func() error { _, err := Do(ctx, "127.0.0.1:1", "GET", "next", nil, nil); return err },
		"path with a space":        func() error { _, err := Do(ctx, "127.0.0.1:1", "GET", "/a b", nil, nil); return err },
		"empty method":             func() error { _, err := Do(ctx, "127.0.0.1:1", "", "/", nil, nil); return err },
	} {
		err := call()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "rawhttp: invalid", name)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Do(ctx, addr, "GET", "/", nil, nil)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}
