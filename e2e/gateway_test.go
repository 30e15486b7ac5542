package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambda-o11y/otelcol-lambda/e2e/gatewaytest"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// startGateway runs the gateway binary with gateway/<config> and env
// (NAME=value) over the config's defaults; extra are more --config flags.
func startGateway(t testing.TB, config string, env []string, extra ...string) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.Start(t, gatewayBinary(t), repoFile("gateway/"+config), env, extra...)
}

// sendLogs posts ld to an OTLP/HTTP receiver as an SDK or a layer would.
func sendLogs(t testing.TB, addr string, ld plog.Logs) {
	t.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+addr+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// jsonLine is the i-th line a function writes: every third an
// inference_success with duration_ms, the others another event.
func jsonLine(i int) (line string, success bool) {
	if i%3 == 0 {
		return fmt.Sprintf(`{"level":"info","message":"inference complete","event":"inference_success","service":"api","model_name":"resnet","label":"cat","duration_ms":%d,"seq":%d}`, 5+i%200, i), true
	}
	return fmt.Sprintf(`{"level":"info","message":"refreshed","event":"cache_refresh","seq":%d}`, i), false
}

// rawLines is what a layer that sends lines unparsed exports for one
// environment of function fn: lines from to from+n-1 and one line that is
// not JSON. It returns the batch and its successes.
func rawLines(fn, env string, from, n int) (plog.Logs, int) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", fn)
	rl.Resource().Attributes().PutStr("service.instance.id", env)
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	successes := 0
	for i := from; i < from+n; i++ {
		line, success := jsonLine(i)
		if success {
			successes++
		}
		lrs.AppendEmpty().Body().SetStr(line)
	}
	lrs.AppendEmpty().Body().SetStr("START RequestId: not json at all")
	return ld, successes
}

// histogramCounts is, per resource (service.name/service.instance.id), the
// number of values the backend's inference_duration_ms histograms hold:
// for each series, the newest count of every start time (a writer that
// restarts begins a new cumulative series, as a backend's increase() reads
// it), summed. It also returns how many start times each series had.
func histogramCounts(be backend) (counts map[string]uint64, starts map[string]int) {
	type key struct{ series, start string }
	newest := map[key]pmetric.HistogramDataPoint{}
	be.ForEachMetric(func(res pcommon.Resource, m pmetric.Metric) {
		if m.Name() != "inference_duration_ms" {
			return
		}
		fn, _ := res.Attributes().Get("service.name")
		env, _ := res.Attributes().Get("service.instance.id")
		for _, dp := range m.Histogram().DataPoints().All() {
			k := key{fn.Str() + "/" + env.Str() + fmt.Sprint(dp.Attributes().AsRaw()), dp.StartTimestamp().String()}
			if old, ok := newest[k]; !ok || dp.Timestamp() >= old.Timestamp() {
				newest[k] = dp
			}
		}
	})
	counts, starts = map[string]uint64{}, map[string]int{}
	for k, dp := range newest {
		resource, _, _ := strings.Cut(k.series, "map[")
		counts[resource] += dp.Count()
		starts[k.series]++
	}
	return counts, starts
}

func parsedLogs(be backend) (parsed, unparsed int) {
	be.ForEachLog(func(_ pcommon.Resource, lr plog.LogRecord) {
		if _, ok := lr.Attributes().Get("event"); ok {
			parsed++
		} else {
			unparsed++
		}
	})
	return parsed, unparsed
}

// TestGatewayEndToEnd runs the gateway binary with its shipped config as a
// plain process: raw JSON lines in over OTLP/HTTP come out parsed at the
// backend (the stock OTLP receiver), and the inference_duration_ms
// histogram derived from them holds exactly the successes of each
// environment, with the expiry counts under the gateway's own resource.
func TestGatewayEndToEnd(t *testing.T) {
	be := startBackend(t)
	gw := startGateway(t, "config.yaml", []string{"GATEWAY_OTLP_ENDPOINT=" + be.Endpoint(), "GATEWAY_FLUSH_INTERVAL=200ms"})
	want := map[string]uint64{}
	lines := 0
	for _, env := range []string{"env-1", "env-2"} {
		for batch := range 3 {
			ld, successes := rawLines("fn-a", env, batch*40, 40)
			sendLogs(t, gw.HTTP, ld)
			want["fn-a/"+env] += uint64(successes)
			lines += ld.LogRecordCount()
		}
	}
	require.Eventually(t, func() bool {
		counts, _ := histogramCounts(be)
		return be.LogRecordCount() >= lines && assert.ObjectsAreEqual(want, counts)
	}, 30*time.Second, 50*time.Millisecond, "want %v\n%s\n%s", want, be, gw)
	gw.Stop()

	parsed, unparsed := parsedLogs(be)
	assert.Equal(t, lines-6, parsed, "every JSON line parsed")
	assert.Equal(t, 6, unparsed, "the non-JSON line of each batch passes as it came")
	counts, starts := histogramCounts(be)
	assert.Equal(t, want, counts)
	for series, n := range starts {
		assert.Equal(t, 1, n, "series %s has one writer", series)
	}
	_, found := be.LastValue("otelcol.logstometrics.expired_series", map[string]string{"metric": "inference_duration_ms"})
	assert.True(t, found, "the expiry counts travel with the data")
}

// TestGatewayScaleOut runs the tier on loopback: a front gateway with the
// shipped config-front.yaml (loadbalancing by service.name) in front of two
// replicas with the shipped config.yaml, in front of the backend. Six
// functions with two environments each send raw lines through the front.
// The backend ends with exactly every line, parsed, and histograms that
// hold exactly each environment's successes; both replicas served; no
// series had two writers. Then one replica restarts while lines keep
// coming: the front tier's queue holds that replica's share until it is
// back, and the totals are still exact (the restarted replica starts new
// cumulative series, which a backend reads as a reset).
func TestGatewayScaleOut(t *testing.T) {
	be := startBackend(t)
	replicaEnv := []string{"GATEWAY_OTLP_ENDPOINT=" + be.Endpoint(), "GATEWAY_FLUSH_INTERVAL=200ms"}
	replicas := []*gatewaytest.Gateway{startGateway(t, "config.yaml", replicaEnv), startGateway(t, "config.yaml", replicaEnv)}
	frontEnv, frontArgs := gatewaytest.FrontArgs(replicas...)
	front := startGateway(t, "config-front.yaml", frontEnv, frontArgs...)

	const functions = 20
	want := map[string]uint64{}
	lines := 0
	send := func(round int) {
		for f := range functions {
			for e := range 2 {
				fn, env := fmt.Sprintf("fn-%d", f), fmt.Sprintf("env-%d-%d", f, e)
				ld, successes := rawLines(fn, env, round*30, 30)
				sendLogs(t, front.HTTP, ld)
				want[fn+"/"+env] += uint64(successes)
				lines += ld.LogRecordCount()
			}
		}
	}
	settled := func() bool {
		counts, _ := histogramCounts(be)
		return be.LogRecordCount() == lines && assert.ObjectsAreEqual(want, counts)
	}
	for round := range 2 {
		send(round)
	}
	require.Eventually(t, settled, 30*time.Second, 50*time.Millisecond, "want %v\n%s", want, be)
	_, starts := histogramCounts(be)
	for series, n := range starts {
		assert.Equal(t, 1, n, "series %s has one writer", series)
	}
	writers := map[string]bool{}
	be.ForEachMetric(func(res pcommon.Resource, m pmetric.Metric) {
		if m.Name() == "otelcol.logstometrics.expired_series" {
			id, _ := res.Attributes().Get("service.instance.id")
			writers[id.Str()] = true
		}
	})
	assert.Len(t, writers, 2, "both replicas derived metrics")

	replicas[1].Stop()
	send(2)
	replicas[1].Start()
	send(3)
	require.Eventually(t, settled, 60*time.Second, 50*time.Millisecond, "want %v\n%s", want, be)
	_, starts = histogramCounts(be)
	for series, n := range starts {
		assert.LessOrEqual(t, n, 2, "series %s: one writer, restarted at most once", series)
	}
	parsed, unparsed := parsedLogs(be)
	assert.Equal(t, lines-unparsed, parsed)
	assert.Equal(t, 4*functions*2, unparsed, "one non-JSON line per batch")
}

// TestLayerSendsUnparsedToGateway: two environments of one function, each
// the layer's extension with its shipped config and
// OTELCOL_LAMBDA_LOG_PROCESSORS=[] under the project's emulator, export to
// a gateway replica, which parses and derives. Every JSON line reaches the
// backend parsed, and each environment's histogram holds exactly its
// successes from one writer: had the extension parsed too, its own
// logstometrics would have written the same series a second time.
func TestLayerSendsUnparsedToGateway(t *testing.T) {
	bin := extensionBinary(t)
	be := startBackend(t)
	gw := startGateway(t, "config.yaml", []string{"GATEWAY_OTLP_ENDPOINT=" + be.Endpoint(), "GATEWAY_FLUSH_INTERVAL=200ms"})

	const invocations, linesPer = 3, 40
	successes := 0
	for i := range linesPer {
		if _, success := jsonLine(i); success {
			successes += invocations
		}
	}
	for range 2 {
		emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: "inference"})
		require.NoError(t, err)
		defer emu.Close()
		var out lambdaemutest.Output
		proc, err := emu.StartExtension(bin, lambdaemu.ProcessOptions{
			Args: loopback.CollectorArgs(repoFile("collector-config.yaml"), freeAddr(t), freeAddr(t)),
			Env: []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=http://" + gw.HTTP, "OTELCOL_LAMBDA_LOG_PROCESSORS=[]",
				"OTELCOL_LAMBDA_FLUSH_STRATEGY=end", "TMPDIR=" + t.TempDir()},
			Output: &out,
			Freeze: true,
		})
		require.NoError(t, err)
		emu.RunRuntime(context.Background(), func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
			for i := range linesPer {
				line, _ := jsonLine(i)
				inv.Log(line)
			}
			return []byte(`"ok"`), nil
		})
		for range invocations {
			_, err := emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte(`{}`)})
			require.NoError(t, err, "extension output:\n%s", out.String())
		}
		res, err := emu.Shutdown(context.Background(), "spindown")
		require.NoError(t, err)
		assert.True(t, res.OK(), "SHUTDOWN in time: %+v\n%s", res, out.String())
		<-proc.Done()
		assert.NoError(t, proc.ExitErr(), "extension output:\n%s", out.String())
	}

	want := []uint64{uint64(successes), uint64(successes)}
	counts := func() []uint64 {
		c, _ := histogramCounts(be)
		return slices.Sorted(maps.Values(c))
	}
	require.Eventually(t, func() bool {
		parsed, _ := parsedLogs(be)
		return parsed == 2*invocations*linesPer && slices.Equal(want, counts())
	}, 30*time.Second, 50*time.Millisecond, "want %v per environment, got %v\n%s\n%s", want, counts(), be, gw)
	_, starts := histogramCounts(be)
	assert.Len(t, starts, 2, "one series per environment")
	for series, n := range starts {
		assert.Equal(t, 1, n, "series %s has one writer, the gateway", series)
	}
}
