// Command lambda-bench measures what the extension costs a function, under the
// project's Lambda emulator: exec to registered and exec to ready (first
// /event/next), RSS once ready, and the post-runtime time it adds to each
// invocation (from the runtime's response to the extension's next /next),
// beside a null extension that only registers and calls /next.
//
//	go run ./cmd/lambda-bench --extension dist/amd64/otelcol-lambda --config collector-config.yaml
//
// The cost mode (cost.go) measures, against a fault-injecting backend, the
// billed time per invocation by log volume, invocation interval and backend
// state, the time to deliver a backlog after an outage, CPU time per 1000 log
// lines and RSS after many invocations:
//
//	go run ./cmd/lambda-bench cost --extension dist/amd64/otelcol-lambda --env OTELCOL_LAMBDA_FLUSH_STRATEGY=end
//
// The managed mode (managed.go) measures CPU and RSS per 1000 invocations on
// Lambda Managed Instances at given numbers in flight, beside the default
// model running the same invocations one at a time:
//
//	go run ./cmd/lambda-bench managed --extension dist/amd64/otelcol-lambda-launcher \
//		--env OTELCOL_LAMBDA_COLLECTOR=$PWD/dist/amd64/otelcol-lambda --in-flight 8,32
//
// The startup mode (startup.go) starts builds of the extension, and a plain
// collector as a yardstick, in turn, and reports start-up times, RSS and
// their ratios round by round.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == nullExtensionArg {
		if err := nullExtension(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	modes := map[string]func([]string) error{"cost": costMain, "managed": managedMain, "startup": startupMain}
	if len(os.Args) > 1 && modes[os.Args[1]] != nil {
		if err := modes[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "lambda-bench "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	ext := flag.String("extension", "", "extension binary to measure")
	config := flag.String("config", "collector-config.yaml", "collector config for the extension")
	runs := flag.Int("runs", 20, "cold starts to measure")
	invocations := flag.Int("invocations", 20, "invocations per cold start for the post-runtime time")
	flag.Parse()
	if *ext == "" {
		fmt.Fprintln(os.Stderr, "--extension is required")
		os.Exit(2)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d cold starts, %d invocations each; medians (p90)\n\n", *runs, *invocations)
	fmt.Println("| extension | exec→registered | exec→ready | RSS when ready | post-runtime per invocation |")
	fmt.Println("|---|---|---|---|---|")
	for _, c := range []struct {
		name string
		path string
		args func() ([]string, error)
	}{
		{"null extension (register + next only)", self, func() ([]string, error) { return []string{nullExtensionArg}, nil }},
		{"otelcol-lambda", *ext, func() ([]string, error) { return collectorArgs(*config) }},
	} {
		m, err := measure(c.path, c.args, *runs, *invocations)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", c.name, err)
			os.Exit(1)
		}
		fmt.Printf("| %s | %s | %s | %.1f MiB | %s |\n", c.name, m.registered, m.ready, m.rssMiB, m.postRuntime)
	}
}

// collectorArgs points the extension's listeners at free loopback ports.
func collectorArgs(config string) ([]string, error) {
	otlpHTTP, otlpGRPC, err := otlpAddrs()
	if err != nil {
		return nil, err
	}
	return loopback.CollectorArgs(config, otlpHTTP, otlpGRPC), nil
}

// otlpAddrs are free loopback addresses for an OTLP receiver's listeners.
func otlpAddrs() (otlpHTTP, otlpGRPC string, err error) {
	if otlpHTTP, err = loopback.FreeAddr(); err != nil {
		return "", "", err
	}
	otlpGRPC, err = loopback.FreeAddr()
	return otlpHTTP, otlpGRPC, err
}

type result struct {
	registered, ready, postRuntime stat
	rssMiB                         float64
}

type stat struct{ p50, p90 time.Duration }

func (s stat) String() string {
	return fmt.Sprintf("%.1f ms (%.1f)", float64(s.p50)/1e6, float64(s.p90)/1e6)
}

func summarize(d []time.Duration) stat {
	slices.Sort(d)
	if len(d) == 0 {
		return stat{}
	}
	return stat{p50: d[len(d)/2], p90: d[len(d)*9/10]}
}

func measure(path string, args func() ([]string, error), runs, invocations int) (result, error) {
	sink, err := startSink()
	if err != nil {
		return result{}, err
	}
	defer sink.Close()
	var reg, ready, post []time.Duration
	var rss []float64
	for range runs {
		a, err := args()
		if err != nil {
			return result{}, err
		}
		r, err := coldStart(path, coldStartOptions{args: a, sink: sink.Addr().String(), invocations: invocations})
		if err != nil {
			return result{}, err
		}
		reg, ready, post = append(reg, r.registered), append(ready, r.ready), append(post, r.post...)
		rss = append(rss, r.rssMiB)
	}
	slices.Sort(rss)
	return result{registered: summarize(reg), ready: summarize(ready), postRuntime: summarize(post), rssMiB: rss[len(rss)/2]}, nil
}

type run struct {
	registered, ready time.Duration
	// listening: exec to the first accepted connection on probe (0 without one).
	listening time.Duration
	post      []time.Duration
	// rssMiB when ready, and anonMiB of it (RssAnon: heap, stacks; the rest
	// is the binaries' pages).
	rssMiB, anonMiB float64
}

type coldStartOptions struct {
	args, env   []string
	sink        string
	invocations int
	// probe is an address the extension listens on (its OTLP/HTTP port),
	// polled from exec until it accepts a connection.
	probe string
}

func coldStart(path string, o coldStartOptions) (run, error) {
	emu, err := lambdaemu.Start(lambdaemu.Config{FunctionName: "bench"})
	if err != nil {
		return run{}, err
	}
	defer emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var opened <-chan time.Time
	if o.probe != "" {
		opened = probeListening(ctx, o.probe)
	}
	proc, err := emu.StartExtension(path, lambdaemu.ProcessOptions{
		Args: o.args, Env: append([]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=http://" + o.sink}, o.env...), Output: io.Discard, Freeze: true,
	})
	if err != nil {
		return run{}, err
	}
	emu.RunRuntime(ctx, func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
		inv.Log("handled " + inv.RequestID)
		return []byte(`"ok"`), nil
	})
	if err := emu.WaitInit(ctx); err != nil {
		return run{}, err
	}
	var r run
	r.rssMiB, r.anonMiB = rssMiB(proc.Cmd.Process.Pid), statusMiB(proc.Cmd.Process.Pid, "RssAnon")
	var openedAt time.Time
	if opened != nil {
		select {
		case openedAt = <-opened:
		case <-ctx.Done():
			return run{}, fmt.Errorf("%s never accepted a connection", o.probe)
		}
	}
	for range o.invocations {
		if _, err := emu.Invoke(ctx, lambdaemu.InvokeRequest{Payload: []byte("x")}); err != nil {
			return run{}, err
		}
	}
	if _, err := emu.Shutdown(ctx, "spindown"); err != nil {
		return run{}, err
	}
	started, err := timings(emu.Events(), proc.Name, &r)
	if err != nil {
		return run{}, err
	}
	if !openedAt.IsZero() {
		r.listening = openedAt.Sub(started)
	}
	return r, nil
}

// timings reads the emulator's event log: when the process started, when it
// registered, when it first asked for an event, and for each invocation the
// time from the runtime's response to the extension's next /next
// (lambdaemu.PostRuntime: zero when the extension was already waiting).
func timings(events []lambdaemu.Event, name string, r *run) (started time.Time, err error) {
	for _, e := range events {
		switch {
		case e.Kind == lambdaemu.EventLifecycle && e.Party == name && strings.HasPrefix(e.Detail, "process started"):
			started = e.Time
		case e.Kind == lambdaemu.EventAPI && e.Party == name && strings.HasSuffix(e.Detail, "/extension/register"):
			r.registered = e.Time.Sub(started)
		case e.Kind == lambdaemu.EventAPI && e.Party == name && strings.HasSuffix(e.Detail, "/event/next"):
			if r.ready == 0 {
				r.ready = e.Time.Sub(started)
			}
		}
	}
	if started.IsZero() || r.registered == 0 || r.ready == 0 {
		return started, errors.New("the extension never registered or never became ready")
	}
	r.post = lambdaemu.PostRuntime(events, name)
	return started, nil
}

// startSink is an OTLP/HTTP endpoint that accepts everything, so export time
// is loopback time.
func startSink() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusOK)
		}))
	}()
	return ln, nil
}

// The null extension's argument, and the name it registers under.
const (
	nullExtensionArg  = "null-extension"
	nullExtensionName = "lambda-bench"
)

// nullExtension registers and loops on /event/next until SHUTDOWN: the floor
// any extension pays.
func nullExtension() error {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	req, _ := http.NewRequest(http.MethodPost, api+"/register", strings.NewReader(`{"events":["INVOKE","SHUTDOWN"]}`))
	req.Header.Set("Lambda-Extension-Name", nullExtensionName)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Extension-Identifier")
	for {
		req, _ := http.NewRequest(http.MethodGet, api+"/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "SHUTDOWN") {
			return nil
		}
	}
}
