package e2e

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// churnBatch is one environment's only batch: 20 inference_success lines
// over 4 models x 5 labels, so the seed rule holds 20 series for it.
func churnBatch(env int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "inference-fn")
	rl.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("env-%05d", env))
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	models := []string{"resnet50", "bert-base", "whisper-small", "clip"}
	labels := []string{"cat", "dog", "bird", "car", "tree"}
	for i := range 20 {
		lrs.AppendEmpty().Body().SetStr(fmt.Sprintf(
			`{"level":"info","message":"inference complete","event":"inference_success","service":"api","model_name":%q,"label":%q,"duration_ms":%d}`,
			models[i%4], labels[i%5], 5+i*37%900))
	}
	return ld
}

// BenchmarkGatewayChurnRSS runs the gateway binary with its shipped config
// while churnEnvironments Lambda environments come and go (each sends one
// batch, as a short-lived environment does, in waves), with
// logstometrics' max_stale on and off, and reports the process's peak and
// final RSS. Exports go to the debug exporter (basic verbosity), so the
// measurement is the gateway's own state, not a backend's.
//
//	go test ./e2e -run '^$' -bench GatewayChurnRSS -benchtime 1x
func BenchmarkGatewayChurnRSS(b *testing.B) {
	const churnEnvironments, wave = 10000, 500
	for _, maxStale := range []string{"2s", "0s"} {
		b.Run("max_stale="+maxStale, func(b *testing.B) {
			for b.Loop() {
				gw := startGateway(b, "config.yaml",
					[]string{"GATEWAY_OTLP_ENDPOINT=http://127.0.0.1:1", "GATEWAY_FLUSH_INTERVAL=500ms", "GATEWAY_MAX_STALE=" + maxStale},
					"--config=yaml:exporters::debug::verbosity: basic",
					"--config=yaml:service::pipelines::logs::exporters: [debug, logstometrics]",
					"--config=yaml:service::pipelines::metrics::exporters: [debug]",
					"--config=yaml:service::pipelines::traces::exporters: [debug]")
				pid := gw.Pid()
				for env := range churnEnvironments {
					sendLogs(b, gw.HTTP, churnBatch(env))
					if env%wave == wave-1 {
						// Between waves: a flush interval, so expiry runs
						// as it would while environments come and go.
						time.Sleep(500 * time.Millisecond)
					}
				}
				b.ReportMetric(float64(lambdaemu.StatusBytes(pid, "VmHWM"))/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(float64(lambdaemu.RSS(pid))/(1<<20), "final-RSS-MiB")
				gw.Stop()
			}
		})
	}
}
