package translator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver/internal/telemetryapi"
)

// FuzzBatch: whatever Lambda (or anything else on the sandbox) POSTs, the
// translator must not panic, and a batch it accepts must translate.
func FuzzBatch(f *testing.F) {
	for _, dir := range []string{"cold_start", "errors", "report_only"} {
		raw, err := os.ReadFile(filepath.Join("testdata", dir, "events.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`[{"time":"2026-11-25T10:00:00Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"timeout","spans":[{"name":"x","start":"2026-11-25T10:00:00Z","durationMs":-1}]}}]`))
	f.Add([]byte(`[{"time":"2026-11-25T10:00:00Z","type":"function","record":{"requestId":7,"message":{"a":[1,{"b":null}]}}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr := newTestTranslator(Options{MaxRecordBytes: 64, PlatformLogs: true})
		tr.StartInvocation("r", "Root=1-6745a000-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1", "", clock)
		events, err := telemetryapi.DecodeBatch(body)
		if err != nil {
			return
		}
		tr.Add(events)
		tr.Close()
		take(tr)
	})
}
