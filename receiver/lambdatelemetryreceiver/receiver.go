package lambdatelemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi"
	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/metadata"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/translator"
)

// Error types sent to /init/error, as Lambda names them in its logs.
const (
	errTypeListener  = "Extension.TelemetryListenerFailed"
	errTypeSubscribe = "Extension.TelemetrySubscriptionFailed"
)

// fallbackSchema is tried when Lambda refuses the configured schema version;
// Lambda Managed Instances accept managedSchema only.
const (
	fallbackSchema = "2022-12-13"
	managedSchema  = "2025-01-29"
)

type lambdaReceiver struct {
	cfg    *Config
	set    receiver.Settings
	opts   options
	logger *zap.Logger
	obs    *receiverhelper.ObsReport

	// initType is AWS_LAMBDA_INITIALIZATION_TYPE: on Lambda Managed
	// Instances (fc.concurrent) invocations overlap, no INVOKE comes and the
	// environment never freezes (see run).
	initType string

	nextLogs    consumer.Logs
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics

	client *extensionapi.Client
	tr     *translator.Translator
	fc     *flushControl
	dedup  *batchDedup
	heap   *heapReleaser
	pushMu sync.Mutex
	// finalDone: the SHUTDOWN flush ran; anything pushed later could not leave.
	finalDone atomic.Bool
	server    *http.Server
	addr      net.Addr // where the listener bound (endpoint may name port 0)
	host      component.Host

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// stopEmitting stops run's timer (concurrent mode) and waits for it.
	stopEmitting func()

	// INVOKEs whose platform.runtimeDone was not translated yet, oldest
	// first (the loop writes, its lag watch reads): lateInvocation.
	invokesMu    sync.Mutex
	untranslated []invokeMark
}

func newReceiver(set receiver.Settings, cfg *Config, o options) (*lambdaReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	initType, _ := o.lookupEnv(wire.EnvInitializationType)
	fc := newFlushControl(cfg.Flush)
	fc.concurrent = wire.ManagedInstances(initType)
	return &lambdaReceiver{
		cfg: cfg, set: set, opts: o, logger: set.Logger, obs: obs,
		initType: initType, fc: fc, dedup: newBatchDedup(dedupWindow), heap: newHeapReleaser(cfg.HeapReleaseSlack),
	}, nil
}

// Start registers the extension, starts the telemetry listener, subscribes
// and starts the /event/next loop. The collector starts receivers last, so by
// the time the loop calls /next the whole pipeline is up.
func (r *lambdaReceiver) Start(ctx context.Context, host component.Host) error {
	r.host = host
	runtimeAPI, ok := r.opts.lookupEnv("AWS_LAMBDA_RUNTIME_API")
	if !ok || runtimeAPI == "" {
		return errors.New("lambdatelemetry: AWS_LAMBDA_RUNTIME_API is not set: this receiver runs only as an AWS Lambda extension (or under a Lambda emulator)")
	}
	r.client = extensionapi.New(runtimeAPI)
	r.client.InitializationType = r.initType
	reg, err := r.register(ctx)
	if err != nil {
		return err
	}

	res := r.resource(reg)
	r.tr = translator.New(res, translator.Options{
		ScopeName:      metadata.ScopeName,
		ScopeVersion:   r.set.BuildInfo.Version,
		PlatformLogs:   r.cfg.PlatformLogs,
		MaxRecordBytes: r.cfg.MaxRecordBytes,
		Cumulative:     r.cfg.MetricsTemporality == "cumulative",
		FunctionName:   firstNonEmpty(reg.FunctionName, r.env("AWS_LAMBDA_FUNCTION_NAME")),
		Concurrent:     r.fc.concurrent,
		Now:            r.opts.now,
	})

	ln, err := net.Listen("tcp", r.cfg.Endpoint)
	if err != nil {
		return r.initError(ctx, errTypeListener, fmt.Errorf("lambdatelemetry: listening on %s: %w", r.cfg.Endpoint, err))
	}
	r.addr = ln.Addr()
	r.server = &http.Server{Handler: http.HandlerFunc(r.handleTelemetry), ReadHeaderTimeout: 5 * time.Second}
	r.wg.Go(func() {
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.logger.Error("Telemetry listener stopped", zap.Error(err))
		}
	})
	if err := r.subscribe(ctx, ln.Addr().(*net.TCPAddr).Port); err != nil {
		return errors.Join(r.initError(ctx, errTypeSubscribe, err), r.server.Close())
	}

	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() { r.run(loopCtx) })
	return nil
}

// register adopts the registration a launcher made at exec (the fast path of
// the layer), else registers under the binary's file name.
func (r *lambdaReceiver) register(ctx context.Context) (extensionapi.Registration, error) {
	reg, handedOver, err := r.client.TakeOver(r.opts.lookupEnv)
	if err != nil || handedOver {
		return reg, err
	}
	name := filepath.Base(os.Args[0])
	if reg, err = r.client.Register(ctx, name); err != nil {
		return reg, fmt.Errorf("lambdatelemetry: registering extension %q: %w", name, err)
	}
	r.logger.Info("Registered Lambda extension", zap.String("name", name), zap.String("function", reg.FunctionName))
	return reg, nil
}

// subscribe asks for the configured schema and falls back to 2022-12-13 when
// Lambda refuses it (older runtimes of the API); on Lambda Managed Instances
// it asks for 2025-01-29, the one schema they accept.
func (r *lambdaReceiver) subscribe(ctx context.Context, port int) error {
	host, _, _ := net.SplitHostPort(r.cfg.Endpoint)
	sub := extensionapi.Subscription{
		SchemaVersion: r.cfg.SchemaVersion,
		Types:         r.cfg.Types,
		Buffering: extensionapi.Buffering{
			MaxItems: r.cfg.Buffering.MaxItems, MaxBytes: r.cfg.Buffering.MaxBytes, TimeoutMs: r.cfg.Buffering.TimeoutMs,
		},
		Destination: extensionapi.Destination{Protocol: "HTTP", URI: "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"},
	}
	if r.fc.concurrent && sub.SchemaVersion != managedSchema {
		r.logger.Warn("Lambda Managed Instances require the Telemetry API schema "+managedSchema+"; using it",
			zap.String("configured", sub.SchemaVersion))
		sub.SchemaVersion = managedSchema
	}
	err := r.client.Subscribe(ctx, sub)
	var se *extensionapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest && sub.SchemaVersion != fallbackSchema && !r.fc.concurrent {
		r.logger.Warn("Telemetry API refused the schema version, falling back",
			zap.String("refused", sub.SchemaVersion), zap.String("fallback", fallbackSchema), zap.Error(err))
		sub.SchemaVersion = fallbackSchema
		err = r.client.Subscribe(ctx, sub)
	}
	if err != nil {
		return fmt.Errorf("lambdatelemetry: subscribing to the Telemetry API: %w", err)
	}
	r.logger.Info("Subscribed to the Telemetry API", zap.String("schema", sub.SchemaVersion), zap.String("destination", sub.Destination.URI))
	return nil
}

// initError tells Lambda the init failed (it then fails the environment with
// errType) and returns cause for the collector to report.
func (r *lambdaReceiver) initError(ctx context.Context, errType string, cause error) error {
	if err := r.client.InitError(ctx, errType, cause); err != nil {
		return errors.Join(cause, fmt.Errorf("reporting to /init/error: %w", err))
	}
	return cause
}

// Shutdown stops the loop and the listener, then pushes whatever the
// translator still holds, so a SIGTERM at any moment leaves everything
// received in the pipeline (downstream components, the spool among them,
// shut down after receivers). The push only hands data on locally, so it
// gets its own bound rather than a context the stop may have cancelled.
func (r *lambdaReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.wg.Wait()
	if r.client != nil {
		err = errors.Join(err, r.client.Close())
	}
	if r.tr != nil && !r.finalDone.Load() {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), localBudget)
		defer cancel()
		err = errors.Join(err, r.push(pctx, true))
	}
	return err
}

func (r *lambdaReceiver) env(key string) string {
	v, _ := r.opts.lookupEnv(key)
	return v
}

// resource describes this execution environment (OTel FaaS and cloud
// semantic conventions). One random id names it, as no log stream name is
// visible to extensions.
func (r *lambdaReceiver) resource(reg extensionapi.Registration) pcommon.Resource {
	res := pcommon.NewResource()
	attrs := res.Attributes()
	fn := firstNonEmpty(r.env("AWS_LAMBDA_FUNCTION_NAME"), reg.FunctionName)
	attrs.PutStr("service.name", firstNonEmpty(r.env("OTEL_SERVICE_NAME"), fn))
	attrs.PutStr("faas.name", fn)
	if v := firstNonEmpty(r.env("AWS_LAMBDA_FUNCTION_VERSION"), reg.FunctionVersion); v != "" {
		attrs.PutStr("faas.version", v)
	}
	if mb, err := strconv.ParseInt(r.env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil {
		attrs.PutInt("faas.max_memory", mb<<20)
	}
	instance := uuid.NewString()
	attrs.PutStr("faas.instance", instance)
	attrs.PutStr("service.instance.id", instance)
	attrs.PutStr("cloud.provider", "aws")
	attrs.PutStr("cloud.platform", "aws_lambda")
	if v := r.env("AWS_REGION"); v != "" {
		attrs.PutStr("cloud.region", v)
	}
	if reg.AccountID != "" {
		attrs.PutStr("cloud.account.id", reg.AccountID)
	}
	return res
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
