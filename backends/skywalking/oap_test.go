package skywalking

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// oapStandIn stands where the OAP's core gRPC port (11800) would be: the
// stock OTLP receiver, gRPC only, keeping every export as it arrived (pdata
// keeps repeated attribute keys as they were sent).
type oapStandIn struct {
	addr    string
	logs    consumertest.LogsSink
	metrics consumertest.MetricsSink
	traces  consumertest.TracesSink
}

func startOAPStandIn(t *testing.T) *oapStandIn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o := &oapStandIn{addr: ln.Addr().String()}
	require.NoError(t, ln.Close())

	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = o.addr
	cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
	set := receivertest.NewNopSettings(f.Type())
	lr, err := f.CreateLogs(context.Background(), set, cfg, &o.logs)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, &o.metrics)
	require.NoError(t, err)
	tr, err := f.CreateTraces(context.Background(), set, cfg, &o.traces)
	require.NoError(t, err)
	for _, c := range []component.Component{lr, mr, tr} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, c.Shutdown(context.Background())) })
	}
	return o
}

type received struct {
	logs    []plog.Logs
	metrics []pmetric.Metrics
	traces  []ptrace.Traces
}

func (o *oapStandIn) received() received {
	return received{logs: o.logs.AllLogs(), metrics: o.metrics.AllMetrics(), traces: o.traces.AllTraces()}
}

