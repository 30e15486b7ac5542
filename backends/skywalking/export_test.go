package skywalking

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/samplefunction"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"
)

// invocation is one request of a run and what it should end as.
type invocation struct {
	payload    string
	timeout    time.Duration // 0: the function's
	wantStatus string
}

// The three p99 causes and normal traffic: a cold start (the first), an
// error, a timeout, then warm requests.
var invocations = []invocation{
	{payload: `{"action":"normal"}`, wantStatus: "success"},
	{payload: `{"action":"fail"}`, wantStatus: "error"},
	{payload: `{"action":"slow"}`, timeout: 100 * time.Millisecond, wantStatus: "timeout"},
	{payload: `{"action":"normal"}`, wantStatus: "success"},
	{payload: `{}`, wantStatus: "success"},
}

// plainLine is what an uninstrumented print() in the function writes.
const plainLine = "loading model weights"

// runPreset runs the preset in-process as the extension of an emulated
// Lambda environment (Init, the invocations, SHUTDOWN), exporting to a fake
// OAP, and returns what reached it and the invocations' results.
func runPreset(t *testing.T, functionName, otelServiceName string, format lambdaemu.LogFormat) (received, []lambdaemu.InvokeResult) {
	t.Helper()
	oap := startOAPStandIn(t)
	t.Setenv("SW_OAP_ADDRESS", oap.addr)

	emu, err := lambdaemu.Start(lambdaemu.Config{
		FunctionName: functionName, MemoryMB: 256, MemoryUsedMB: 96, Extensions: 1,
		Telemetry: lambdaemu.TelemetryConfig{LogFormat: format},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	env := map[string]string{}
	for _, kv := range emu.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// The in-process spool (os.TempDir) uses this environment's /tmp.
	t.Setenv("TMPDIR", env["TMPDIR"])
	if otelServiceName != "" {
		env["OTEL_SERVICE_NAME"] = otelServiceName
	}
	exited := make(chan struct{})
	var once sync.Once
	d := newDistribution(t,
		lambdatelemetryreceiver.WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		lambdatelemetryreceiver.WithExit(func() { once.Do(func() { close(exited) }) }),
	)
	col := newCollector(t, d,
		// Loopback listeners: sandbox.localdomain exists only in Lambda, and
		// the SDK ports may be taken on a shared machine.
		"yaml:receivers::lambdatelemetry::endpoint: 127.0.0.1:0",
		"yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:0",
		"yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:0",
	)
	runErr := make(chan error, 1)
	go func() { runErr <- col.Run(context.Background()) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			col.Shutdown()
			<-runErr
		}
	})

	fn := samplefunction.New("", time.Second)
	t.Cleanup(fn.Close)
	emu.RunRuntime(context.Background(), func(ctx context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		inv.Log(plainLine)
		return fn.Handle(ctx, inv)
	})

	ctx := context.Background()
	var results []lambdaemu.InvokeResult
	for _, inv := range invocations {
		res, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte(inv.payload), Timeout: inv.timeout})
		require.NoError(t, err)
		require.Equal(t, inv.wantStatus, res.Status, "payload %s", inv.payload)
		results = append(results, res)
	}
	// In-process, "finished" is the receiver asking the collector to stop
	// (the emulator cannot see a process exit, so it waits out the deadline).
	_, err = emu.Shutdown(ctx, "spindown")
	require.NoError(t, err)
	select {
	case <-exited:
	default:
		t.Fatal("the receiver did not stop the collector after SHUTDOWN")
	}
	col.Shutdown()
	stopped = true
	require.NoError(t, <-runErr)
	return oap.received(), results
}

// presetSkyWalkingAttrs reads the attribute names jsonlogparse/skywalking
// writes, from the preset (defaults where it leaves them out).
func presetSkyWalkingAttrs(t *testing.T) swAttrs {
	t.Helper()
	var preset struct {
		Processors map[string]struct {
			SkyWalking struct {
				Enabled          bool   `yaml:"enabled"`
				TraceIDAttribute string `yaml:"trace_id_attribute"`
				LevelAttribute   string `yaml:"level_attribute"`
			} `yaml:"skywalking"`
		} `yaml:"processors"`
	}
	readYAML(t, kitFile("collector-config.yaml"), &preset)
	sw := preset.Processors["jsonlogparse/skywalking"].SkyWalking
	require.True(t, sw.Enabled, "the preset's jsonlogparse runs in SkyWalking mode")
	names := swAttrs{traceID: "trace_id", level: "level"}
	if sw.TraceIDAttribute != "" {
		names.traceID = sw.TraceIDAttribute
	}
	if sw.LevelAttribute != "" {
		names.level = sw.LevelAttribute
	}
	return names
}

// TestPresetExportMeetsContract runs the preset end to end, for both of
// Lambda's log formats, and checks what the OAP would receive against every
// point of the contract, and against the kit's LAL and MAL rule files.
func TestPresetExportMeetsContract(t *testing.T) {
	for _, format := range []lambdaemu.LogFormat{lambdaemu.LogFormatText, lambdaemu.LogFormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			got, results := runPreset(t, "sentiment-inference", "sentiment-inference", format)
			checkExport(t, got, results)
		})
	}
}

func checkExport(t *testing.T, got received, results []lambdaemu.InvokeResult) {
	names := presetSkyWalkingAttrs(t)

	serverTrace := map[string]string{}
	for _, td := range got.traces {
		forEachSpan(td, func(_ pcommon.Resource, s ptrace.Span) {
			if s.Kind() == ptrace.SpanKindServer {
				id, _ := s.Attributes().Get("faas.invocation_id")
				serverTrace[id.Str()] = s.TraceID().String()
			}
		})
	}
	// The function's lines written as JSON (parsed by jsonlogparse) and
	// written as plain text (an uninstrumented print: jsonlogparse leaves it
	// as it is).
	for _, kind := range []struct {
		name  string
		match func(plog.LogRecord) bool
	}{
		{"JSON lines", func(lr plog.LogRecord) bool { return isFunctionRecord(lr) && lr.Body().AsString() != plainLine }},
		{"plain lines", func(lr plog.LogRecord) bool { return isFunctionRecord(lr) && lr.Body().AsString() == plainLine }},
	} {
		t.Run("logs/"+kind.name, func(t *testing.T) {
			n := 0
			forEachRecord(got.logs, func(r pcommon.Resource, lr plog.LogRecord) {
				if !kind.match(lr) {
					return
				}
				n++
				assert.Empty(t, resourceViolations("logs", r))
				assert.Empty(t, recordViolations(lr, names))
				// The trace id the LAL rule reads is the invocation's.
				req, _ := lr.Attributes().Get("faas.invocation_id")
				tid, _ := lr.Attributes().Get(names.traceID)
				assert.Equal(t, serverTrace[req.Str()], tid.Str(), "trace id of line %q of %s", lr.Body().AsString(), req.Str())
			})
			assert.NotZero(t, n, "records exported")
		})
	}

	t.Run("every invocation", func(t *testing.T) {
		successes := 0
		lines := map[string]int{}
		forEachRecord(got.logs, func(_ pcommon.Resource, lr plog.LogRecord) {
			if !isFunctionRecord(lr) {
				return
			}
			req, _ := lr.Attributes().Get("faas.invocation_id")
			lines[req.Str()]++
			if ev, _ := lr.Attributes().Get("event"); ev.Str() == "inference_success" {
				successes++
			}
		})
		for _, res := range results {
			assert.NotEmpty(t, serverTrace[res.RequestID], "server span of %s", res.RequestID)
			// The plain line, inference_start and its outcome (a timed-out
			// handler may be cut off before it logs one).
			minLines := 3
			if res.Status == "timeout" {
				minLines = 2
			}
			assert.GreaterOrEqual(t, lines[res.RequestID], minLines, "function lines of %s", res.RequestID)
		}
		// The histogram counts exactly the successes the OAP got as logs.
		assert.Equal(t, int64(successes), histogramCount(got.metrics, "inference_duration_ms"))
	})

	t.Run("metrics", func(t *testing.T) {
		require.NotEmpty(t, got.metrics)
		for _, md := range got.metrics {
			assert.Empty(t, metricViolations(md))
		}
		seed := presetSeedRule(t)
		found := false
		forEachMetric(got.metrics, func(_ pcommon.Resource, m pmetric.Metric) {
			if m.Name() == seed.Name {
				found = true
				assert.Empty(t, histogramViolations(m, seed.Buckets, seed.labels()))
			}
		})
		assert.True(t, found, "%s exported", seed.Name)
	})

	t.Run("traces", func(t *testing.T) {
		require.NotEmpty(t, got.traces)
		for _, td := range got.traces {
			assert.Empty(t, traceViolations(td))
		}
	})

	// One service: traces, logs and metrics name the same one.
	t.Run("one service", func(t *testing.T) {
		services := map[string]bool{}
		for _, td := range got.traces {
			forEachSpan(td, func(r pcommon.Resource, _ ptrace.Span) { services[serviceName(r)] = true })
		}
		forEachRecord(got.logs, func(r pcommon.Resource, _ plog.LogRecord) { services[serviceName(r)] = true })
		for _, md := range got.metrics {
			for _, rm := range md.ResourceMetrics().All() {
				services[serviceName(rm.Resource())] = true
			}
		}
		assert.Equal(t, map[string]bool{"sentiment-inference": true}, services)
	})

	t.Run("MAL rules read what the preset exports", func(t *testing.T) {
		var rules malFile
		readYAML(t, kitFile("otel-rules/lambda.yaml"), &rules)
		for _, v := range []oapVersion{oap103, oap104} {
			assert.Empty(t, malViolations(rules, samples(got.metrics, v)), "OAP %s", v)
		}
	})

	t.Run("LAL rule for the layer the logs arrive in", func(t *testing.T) {
		var lal lalFile
		readYAML(t, kitFile("lal/lambda.yaml"), &lal)
		forEachRecord(got.logs, func(r pcommon.Resource, _ plog.LogRecord) {
			layer := "GENERAL" // the handler's default for a resource without service.layer
			if l, ok := r.Attributes().Get("service.layer"); ok && l.Str() != "" {
				layer = l.Str()
			}
			assert.Contains(t, lalLayers(lal), layer)
		})
		for _, r := range lal.Rules {
			assert.Contains(t, r.DSL, `traceId tag("`+names.traceID+`")`, "rule %q", r.Name)
		}
	})
}

// TestPresetNeedsLowerCaseServiceName shows why the README requires
// OTEL_SERVICE_NAME: without it service.name is the function's name, and
// Lambda function names may have capitals.
func TestPresetNeedsLowerCaseServiceName(t *testing.T) {
	got, _ := runPreset(t, "Sentiment-Inference", "", lambdaemu.LogFormatText)
	var v []string
	for _, td := range got.traces {
		v = append(v, traceViolations(td)...)
	}
	require.NotEmpty(t, v)
	for _, s := range v {
		assert.Contains(t, s, `service.name "Sentiment-Inference" is not lower-case`)
	}
}

// seedRule is the part of the preset's logstometrics rule the MAL rule needs.
type seedRule struct {
	Name       string    `yaml:"name"`
	Buckets    []float64 `yaml:"buckets"`
	Attributes []struct {
		Key string `yaml:"key"`
	} `yaml:"attributes"`
}

func (r seedRule) labels() []string {
	var out []string
	for _, a := range r.Attributes {
		out = append(out, a.Key)
	}
	return out
}

func presetSeedRule(t *testing.T) seedRule {
	t.Helper()
	var preset struct {
		Connectors map[string]struct {
			Rules []seedRule `yaml:"rules"`
		} `yaml:"connectors"`
	}
	readYAML(t, kitFile("collector-config.yaml"), &preset)
	rules := preset.Connectors["logstometrics"].Rules
	require.Len(t, rules, 1)
	return rules[0]
}

func isFunctionRecord(lr plog.LogRecord) bool {
	typ, _ := lr.Attributes().Get("aws.lambda.telemetry.type")
	return typ.Str() == "function"
}

func lalLayers(f lalFile) []string {
	var out []string
	for _, r := range f.Rules {
		out = append(out, r.Layer)
	}
	return out
}

func serviceName(r pcommon.Resource) string {
	v, _ := r.Attributes().Get("service.name")
	return v.AsString()
}

func histogramCount(mds []pmetric.Metrics, name string) int64 {
	// Cumulative: the last export holds the totals, per series.
	last := map[string]uint64{}
	forEachMetric(mds, func(res pcommon.Resource, m pmetric.Metric) {
		if m.Name() != name || m.Type() != pmetric.MetricTypeHistogram {
			return
		}
		for _, dp := range m.Histogram().DataPoints().All() {
			last[seriesKey(res, dp.Attributes())] = dp.Count()
		}
	})
	var n int64
	for _, c := range last {
		n += int64(c)
	}
	return n
}

// seriesKey names a series by its resource and attributes (fmt prints maps
// in key order).
func seriesKey(res pcommon.Resource, attrs pcommon.Map) string {
	return fmt.Sprint(res.Attributes().AsRaw(), attrs.AsRaw())
}

func forEachRecord(lds []plog.Logs, fn func(pcommon.Resource, plog.LogRecord)) {
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					fn(rl.Resource(), lr)
				}
			}
		}
	}
}

func forEachSpan(td ptrace.Traces, fn func(pcommon.Resource, ptrace.Span)) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				fn(rs.Resource(), s)
			}
		}
	}
}

func forEachMetric(mds []pmetric.Metrics, fn func(pcommon.Resource, pmetric.Metric)) {
	for _, md := range mds {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					fn(rm.Resource(), m)
				}
			}
		}
	}
}
