package e2e

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// backend is the stock OTLP receiver, in-process, standing for the user's
// observability backend.
type backend struct {
	endpoint string // http://127.0.0.1:port
	traces   *consumertest.TracesSink
	logs     *consumertest.LogsSink
	metrics  *consumertest.MetricsSink
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{traces: &consumertest.TracesSink{}, logs: &consumertest.LogsSink{}, metrics: &consumertest.MetricsSink{}}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	addr := freeAddr(t)
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	b.endpoint = "http://" + addr
	set := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), set, cfg, b.traces)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, b.logs)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, b.metrics)
	require.NoError(t, err)
	for _, c := range []interface {
		Start(context.Context, component.Host) error
	}{tr, lr, mr} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		require.NoError(t, tr.Shutdown(context.Background()))
		require.NoError(t, lr.Shutdown(context.Background()))
		require.NoError(t, mr.Shutdown(context.Background()))
	})
	return b
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	require.NoError(t, err)
	return addr
}

// extensionBinary is the OCB-built distribution; `make test` passes it.
func extensionBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_LAMBDA_BIN")
	if bin == "" {
		t.Skip("OTELCOL_LAMBDA_BIN is not set: run `make test`, which builds the distribution and runs these whole-binary tests")
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "OTELCOL_LAMBDA_BIN")
	return bin
}

// repoFile returns the path of a file at the repository root.
func repoFile(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", name)
}

// lastSum is the newest value of a cumulative integer sum the backend got,
// or the newest count of a cumulative histogram.
func (b *backend) lastSum(name string) (int64, bool) {
	var v int64
	found := false
	for _, md := range b.metrics.AllMetrics() {
		for i := range md.ResourceMetrics().Len() {
			sms := md.ResourceMetrics().At(i).ScopeMetrics()
			for j := range sms.Len() {
				for k := range sms.At(j).Metrics().Len() {
					m := sms.At(j).Metrics().At(k)
					switch {
					case m.Name() != name:
					case m.Type() == pmetric.MetricTypeSum:
						v, found = m.Sum().DataPoints().At(0).IntValue(), true
					case m.Type() == pmetric.MetricTypeHistogram:
						v, found = int64(m.Histogram().DataPoints().At(0).Count()), true
					}
				}
			}
		}
	}
	return v, found
}
