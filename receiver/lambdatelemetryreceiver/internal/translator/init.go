package translator

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// phase is the init or the SnapStart restore phase of the environment.
type phase struct {
	name        string
	started     bool
	start       time.Time
	durationMs  float64
	ended       bool
	status      string
	errorType   string
	initType    string
	runtimeVers string
}

// initState holds the init (and restore) phases until the first invocation
// gives them a trace to join: AWS shows init as part of the cold invocation.
type initState struct {
	phases     []*phase
	started    bool
	emitted    bool
	linked     bool
	firstTrace pcommon.TraceID
	firstSpan  pcommon.SpanID
}

func (s *initState) phase(name string) *phase {
	for _, p := range s.phases {
		if p.name == name {
			return p
		}
	}
	p := &phase{name: name}
	s.phases = append(s.phases, p)
	s.started = true
	return p
}

// coldStartType reports whether the first invocation pays for the init: not
// so for provisioned concurrency and Lambda Managed Instances, whose init
// ran ahead of any request.
func (s *initState) coldStartType() bool {
	for _, p := range s.phases {
		if p.name == "init" && (p.initType == "provisioned-concurrency" || p.initType == "lambda-managed-instances") {
			return false
		}
	}
	return true
}

func (s *initState) complete() bool {
	for _, p := range s.phases {
		if !p.ended {
			return false
		}
	}
	return s.started
}

func (t *Translator) onInitEvent(ev *telemetryapi.Event, p *telemetryapi.Platform) {
	name := "init"
	switch ev.Type {
	case telemetryapi.TypeRestoreStart, telemetryapi.TypeRestoreRuntimeDone, telemetryapi.TypeRestoreReport:
		name = "restore"
	}
	ph := t.init.phase(name)
	if p.InitializationType != "" {
		ph.initType = p.InitializationType
	}
	if p.RuntimeVersion != "" {
		ph.runtimeVers = p.RuntimeVersion
	}
	switch ev.Type {
	case telemetryapi.TypeInitStart, telemetryapi.TypeRestoreStart:
		ph.started, ph.start = true, ev.Time
	case telemetryapi.TypeInitRuntimeDone, telemetryapi.TypeRestoreRuntimeDone:
		ph.status, ph.errorType = p.Status, p.ErrorType
		if ph.started && !ph.ended {
			ph.durationMs = float64(ev.Time.Sub(ph.start)) / float64(time.Millisecond)
		}
		ph.ended = true
	case telemetryapi.TypeInitReport, telemetryapi.TypeRestoreReport:
		if p.Metrics != nil {
			ph.durationMs = p.Metrics.DurationMs
			if name == "init" {
				t.metrics.get(MetricInitDuration).record(p.Metrics.DurationMs / 1e3)
			}
		}
		if p.Status != "" {
			ph.status, ph.errorType = p.Status, p.ErrorType
		}
		ph.ended = true
	}
	if t.init.linked && !t.init.emitted && t.init.complete() {
		t.emitInitLocked()
	}
}

// emitInitLocked emits one span per phase, children of the first invocation's
// span, or roots of a trace of their own when no invocation came.
func (t *Translator) emitInitLocked() {
	t.init.emitted = true
	traceID, parent := t.init.firstTrace, t.init.firstSpan
	if !t.init.linked {
		traceID, parent = t.newTraceID(), pcommon.SpanID{}
	}
	for _, ph := range t.init.phases {
		start := ph.start
		if !ph.started {
			continue
		}
		span := t.spans.AppendEmpty()
		span.SetTraceID(traceID)
		span.SetSpanID(t.newSpanID())
		span.SetParentSpanID(parent)
		span.SetName(ph.name)
		span.SetKind(ptrace.SpanKindInternal)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(ph.durationMs * float64(time.Millisecond)))))
		attrs := span.Attributes()
		if ph.initType != "" {
			attrs.PutStr("aws.lambda.initialization_type", ph.initType)
		}
		if ph.runtimeVers != "" {
			attrs.PutStr("aws.lambda.runtime_version", ph.runtimeVers)
		}
		if ph.status != "" {
			attrs.PutStr("aws.lambda.status", ph.status)
		}
		if ph.status != "" && ph.status != "success" {
			span.Status().SetCode(ptrace.StatusCodeError)
			et := ph.errorType
			if et == "" {
				et = ph.status
			}
			span.Status().SetMessage(et)
			attrs.PutStr("error.type", et)
		}
	}
}
