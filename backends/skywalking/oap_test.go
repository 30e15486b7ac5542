package skywalking

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// fakeOAP stands where the OAP's core gRPC port would: it serves the three
// OTLP export services and keeps every request as it arrived on the wire
// (pdata keeps repeated attribute keys as they were sent).
type fakeOAP struct {
	addr string
	srv  *grpc.Server

	mu      sync.Mutex
	logs    []plog.Logs
	metrics []pmetric.Metrics
	traces  []ptrace.Traces
}

func startFakeOAP(t *testing.T) *fakeOAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o := &fakeOAP{addr: ln.Addr().String(), srv: grpc.NewServer()}
	plogotlp.RegisterGRPCServer(o.srv, &logsService{o: o})
	pmetricotlp.RegisterGRPCServer(o.srv, &metricsService{o: o})
	ptraceotlp.RegisterGRPCServer(o.srv, &tracesService{o: o})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = o.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		o.srv.Stop()
		<-served
	})
	return o
}

type received struct {
	logs    []plog.Logs
	metrics []pmetric.Metrics
	traces  []ptrace.Traces
}

func (o *fakeOAP) received() received {
	o.mu.Lock()
	defer o.mu.Unlock()
	return received{logs: o.logs, metrics: o.metrics, traces: o.traces}
}

type logsService struct {
	plogotlp.UnimplementedGRPCServer
	o *fakeOAP
}

func (s *logsService) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	s.o.logs = append(s.o.logs, req.Logs())
	return plogotlp.NewExportResponse(), nil
}

type metricsService struct {
	pmetricotlp.UnimplementedGRPCServer
	o *fakeOAP
}

func (s *metricsService) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	s.o.metrics = append(s.o.metrics, req.Metrics())
	return pmetricotlp.NewExportResponse(), nil
}

type tracesService struct {
	ptraceotlp.UnimplementedGRPCServer
	o *fakeOAP
}

func (s *tracesService) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	s.o.traces = append(s.o.traces, req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}
