// Command testextension is a tiny external extension for whole-binary tests of
// the emulator, the RIE proxy and the harness. It registers under its file
// name, subscribes to all telemetry (schema 2025-01-29, falling back to
// 2022-12-13 when refused), waits for each request's runtimeDone before calling
// next, and at SHUTDOWN waits for the last report before exiting.
//
// Environment: TESTEXT_OUT (file receiving every event and record as JSON
// lines), TESTEXT_MODE ("" | "noregister" | "crash" | "hang").
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testextension:", err)
		os.Exit(1)
	}
}

type outFile struct {
	mu sync.Mutex
	f  *os.File
}

func (o *outFile) write(kind string, v any) {
	if o.f == nil {
		return
	}
	b, _ := json.Marshal(map[string]any{"kind": kind, "value": v})
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.f.Write(append(b, '\n'))
}

func run() error {
	mode := os.Getenv("TESTEXT_MODE")
	if mode == "noregister" {
		fmt.Println("exiting without registering")
		return nil
	}
	out := &outFile{}
	if p := os.Getenv("TESTEXT_OUT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out.f = f
	}
	ctx := context.Background()
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	name := filepath.Base(os.Args[0])
	x, err := lambdaemutest.Register(ctx, api, name, "INVOKE", "SHUTDOWN")
	if err != nil {
		return err
	}
	out.write("registered", x.Info)
	l, err := lambdaemutest.NewListener()
	if err != nil {
		return err
	}
	defer l.Close()
	schema := "2025-01-29"
	err = x.Subscribe(ctx, lambdaemutest.SubscriptionBody(schema, l.URL, "platform", "function", "extension"))
	var se *lambdaemutest.StatusError
	if errors.As(err, &se) && se.Status == 400 {
		schema = "2022-12-13"
		err = x.Subscribe(ctx, lambdaemutest.SubscriptionBody(schema, l.URL, "platform", "function", "extension"))
	}
	if err != nil {
		return err
	}
	out.write("subscribed", schema)
	fmt.Printf("%s registered and subscribed with schema %s\n", name, schema)

	written := 0
	flush := func() {
		recs := l.Records()
		for _, r := range recs[written:] {
			out.write("record", r)
		}
		written = len(recs)
	}
	last := ""
	for {
		ev, err := x.Next(ctx)
		if err != nil {
			return err
		}
		out.write("event", ev)
		fmt.Printf("%s received %s %s\n", name, ev.EventType, ev.RequestID)
		switch ev.EventType {
		case "INVOKE":
			if mode == "crash" {
				panic("testextension: crashing as asked")
			}
			last = ev.RequestID
			wctx, cancel := context.WithDeadline(ctx, time.UnixMilli(ev.DeadlineMs))
			_, _ = l.WaitFor(wctx, func(r []lambdaemutest.Record) bool {
				_, ok := lambdaemutest.Find(r, "platform.runtimeDone", ev.RequestID)
				return ok
			})
			cancel()
			flush()
		case "SHUTDOWN":
			if mode == "hang" {
				select {}
			}
			wctx, cancel := context.WithDeadline(ctx, time.UnixMilli(ev.DeadlineMs))
			_, err := l.WaitFor(wctx, func(r []lambdaemutest.Record) bool {
				_, ok := lambdaemutest.Find(r, "platform.report", last)
				return ok || last == ""
			})
			cancel()
			flush()
			if err != nil {
				return fmt.Errorf("no report for %s before the SHUTDOWN deadline", last)
			}
			fmt.Printf("%s shut down cleanly\n", name)
			return nil
		}
	}
}
