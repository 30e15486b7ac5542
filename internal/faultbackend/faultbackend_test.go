package faultbackend

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T) *Backend {
	t.Helper()
	b, err := Start()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

func logsBody(t *testing.T, lines ...string) []byte {
	t.Helper()
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, l := range lines {
		recs.AppendEmpty().Body().SetStr(l)
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	return body
}

func tracesBody(t *testing.T, spans int) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range spans {
		ss.AppendEmpty().SetName("s")
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return body
}

// counter is one cumulative point of name at ts.
func metricsBody(t *testing.T, name string, ts time.Time, value int64, attrs map[string]string) []byte {
	t.Helper()
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := s.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(value)
	for k, v := range attrs {
		dp.Attributes().PutStr(k, v)
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	return body
}

func post(ctx context.Context, c *http.Client, b *Backend, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.Endpoint()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	return resp, nil
}

func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestOKCountsAndRecordsArrivals(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	before := time.Now()
	resp, err := post(context.Background(), c, b, "/v1/logs", logsBody(t, "a", "b", "c"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = post(context.Background(), c, b, "/v1/traces", tracesBody(t, 2))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	assert.Equal(t, 3, b.LogRecordCount())
	assert.Equal(t, 2, b.SpanCount())
	arr := b.Arrivals()
	require.Len(t, arr, 2)
	assert.Equal(t, SignalLogs, arr[0].Signal)
	assert.Equal(t, 3, arr[0].Items)
	assert.Equal(t, 3, arr[0].Logs.LogRecordCount())
	assert.Equal(t, SignalTraces, arr[1].Signal)
	assert.Equal(t, 2, arr[1].Items)
	for _, a := range arr {
		assert.False(t, a.Time.Before(before))
		assert.False(t, a.Time.After(time.Now()))
	}
	assert.Equal(t, 2, b.Requests().Forwarded)
	var bodies []string
	b.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) { bodies = append(bodies, lr.Body().Str()) })
	assert.Equal(t, []string{"a", "b", "c"}, bodies)
}

func TestStatusModes(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	require.NoError(t, b.SetMode(Status(http.StatusServiceUnavailable)))
	resp, err := post(context.Background(), c, b, "/v1/logs", logsBody(t, "x"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Retry-After"))

	require.NoError(t, b.SetMode(Throttle(2*time.Second)))
	resp, err = post(context.Background(), c, b, "/v1/logs", logsBody(t, "x"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))

	assert.Zero(t, b.LogRecordCount(), "rejected requests are not accepted")
	assert.Empty(t, b.Arrivals())
	assert.Equal(t, map[int]int{503: 1, 429: 1}, b.Requests().Answered)
}

func TestRefuseClosesThePortAndReopensIt(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	// A keep-alive connection exists before the refusal.
	resp, err := post(context.Background(), c, b, "/v1/logs", logsBody(t, "before"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, b.SetMode(Refuse()))
	_, err = post(context.Background(), c, b, "/v1/logs", logsBody(t, "during"))
	require.Error(t, err, "the pooled connection is closed too")
	_, err = post(context.Background(), c, b, "/v1/logs", logsBody(t, "during"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "a new connection is refused: %v", err)

	endpoint := b.Endpoint()
	require.NoError(t, b.SetMode(OK()))
	assert.Equal(t, endpoint, b.Endpoint())
	resp, err = post(context.Background(), c, b, "/v1/logs", logsBody(t, "after"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, b.LogRecordCount())
}

func TestHangHoldsUntilTheModeChanges(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	require.NoError(t, b.SetMode(Hang()))
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	sent := time.Now()
	go func() {
		resp, err := post(context.Background(), c, b, "/v1/logs", logsBody(t, "held"))
		done <- result{resp, err}
	}()
	require.Eventually(t, func() bool { return b.Requests().Hung == 1 }, 5*time.Second, time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("a hanging backend answered: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	released := time.Now()
	require.NoError(t, b.SetMode(OK()))
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.resp.StatusCode)
	arr := b.Arrivals()
	require.Len(t, arr, 1)
	assert.True(t, arr[0].Time.Before(released), "the arrival is when the request came, not when it was released")
	assert.False(t, arr[0].Time.Before(sent))
}

func TestHangEndsWithTheClientOrAtClose(t *testing.T) {
	b, err := Start()
	require.NoError(t, err)
	c := httpClient(t)
	require.NoError(t, b.SetMode(Hang()))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = post(ctx, c, b, "/v1/logs", logsBody(t, "given up"))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	errc := make(chan error, 1)
	go func() {
		_, err := post(context.Background(), c, b, "/v1/logs", logsBody(t, "cut at close"))
		errc <- err
	}()
	require.Eventually(t, func() bool { return b.Requests().Hung == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.Close())
	require.Error(t, <-errc)
	assert.Zero(t, b.LogRecordCount())
	require.NoError(t, b.Close(), "twice")
	assert.Error(t, b.SetMode(OK()), "closed")
}

func TestHangReleasedIntoAnotherFault(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	require.NoError(t, b.SetMode(Hang()))
	errc := make(chan error, 2)
	codes := make(chan int, 1)
	go func() {
		resp, err := post(context.Background(), c, b, "/v1/traces", tracesBody(t, 1))
		if err == nil {
			codes <- resp.StatusCode
		}
		errc <- err
	}()
	require.Eventually(t, func() bool { return b.Requests().Hung == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.SetMode(Status(http.StatusServiceUnavailable)))
	require.NoError(t, <-errc)
	assert.Equal(t, http.StatusServiceUnavailable, <-codes)

	go func() {
		_, err := post(context.Background(), c, b, "/v1/traces", tracesBody(t, 1))
		errc <- err
	}()
	require.NoError(t, b.SetMode(Hang()))
	require.Eventually(t, func() bool { return b.Requests().Hung >= 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.SetMode(Refuse()))
	assert.Error(t, <-errc, "released into refuse: the connection is cut")
	assert.Zero(t, b.SpanCount())
}

func TestLatestAndLastValue(t *testing.T) {
	b := start(t)
	c := httpClient(t)
	t0 := time.Now()
	send := func(ts time.Time, v int64, attrs map[string]string) {
		resp, err := post(context.Background(), c, b, "/v1/metrics", metricsBody(t, "dropped", ts, v, attrs))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	// A spool may deliver an older total after a newer one: the newest
	// timestamp wins, not the last arrival.
	send(t0.Add(2*time.Second), 7, map[string]string{"reason": "spool_full", "signal": "logs"})
	send(t0.Add(time.Second), 3, map[string]string{"reason": "spool_full", "signal": "logs"})
	send(t0.Add(time.Second), 2, map[string]string{"reason": "spool_full", "signal": "traces"})
	send(t0, 5, map[string]string{"reason": "shutdown", "signal": "logs"})

	v, ok := b.LastValue("dropped", map[string]string{"reason": "spool_full"})
	require.True(t, ok)
	assert.Equal(t, 9.0, v)
	v, ok = b.LastValue("dropped", map[string]string{"reason": "spool_full", "signal": "logs"})
	require.True(t, ok)
	assert.Equal(t, 7.0, v)
	v, ok = b.LastValue("dropped", nil)
	require.True(t, ok)
	assert.Equal(t, 14.0, v)
	_, ok = b.LastValue("dropped", map[string]string{"reason": "other"})
	assert.False(t, ok)
	_, ok = b.LastValue("absent", nil)
	assert.False(t, ok)
	assert.Len(t, b.Latest("dropped"), 3)
	assert.Equal(t, 4, b.MetricPoints("dropped"))
	assert.Equal(t, 4, b.DataPointCount())
	assert.True(t, strings.Contains(b.String(), "4 metric points"))
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{OK(), Refuse(), Hang(), Status(503), Throttle(2 * time.Second)} {
		got, err := ParseMode(m.String())
		require.NoError(t, err, m.String())
		assert.Equal(t, m, got)
	}
	for _, bad := range []string{"", "down", "99", "429:x", "503:-1"} {
		_, err := ParseMode(bad)
		assert.Error(t, err, bad)
	}
}
