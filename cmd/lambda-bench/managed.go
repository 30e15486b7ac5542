package main

// The managed mode: what the extension costs on Lambda Managed Instances,
// where invocations overlap and nothing freezes: CPU and RSS of the
// extension's processes per 1000 invocations at a given number in flight,
// beside the default execution model running the same invocations one at a
// time (frozen between them), in one run.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu/lambdaemutest"
)

type managedConfig struct {
	ext, config string
	env         []string
	inFlight    []int
	invocations int
	lines       int
	sequential  bool
}

func managedMain(args []string) error {
	var c managedConfig
	fs, env := extensionFlags("managed", &c.ext, &c.config, "; the layer's launcher with --env OTELCOL_LAMBDA_COLLECTOR=...", "")
	inFlight := fs.String("in-flight", "8,32", "invocations in flight at once")
	fs.IntVar(&c.invocations, "invocations", 1000, "invocations per row")
	fs.IntVar(&c.lines, "lines", 20, "function log lines per invocation")
	fs.BoolVar(&c.sequential, "sequential", true, "also run the default model, one invocation at a time (frozen between them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.ext == "" {
		return errors.New("--extension is required")
	}
	c.env = *env
	var err error
	if c.inFlight, err = parseList(*inFlight, parsePositive); err != nil {
		return fmt.Errorf("--in-flight: %w", err)
	}
	return c.run(os.Stdout)
}

func parsePositive(s string) (int, error) {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return n, nil
}

func (c *managedConfig) run(w io.Writer) error {
	fmt.Fprintf(w, "%d invocations of %d lines each per row; CPU: utime+stime of the extension's processes from ready to exit "+
		"(SHUTDOWN's drain included); RSS: VmRSS of its processes, sampled every 50 ms.\n\n", c.invocations, c.lines)
	fmt.Fprintln(w, "| model | in flight | wall | CPU per 1000 invocations | RSS when ready | RSS peak | lines delivered | SHUTDOWN |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	type row struct {
		managed  bool
		inFlight int
	}
	var rows []row
	if c.sequential {
		rows = append(rows, row{false, 1})
	}
	for _, n := range c.inFlight {
		rows = append(rows, row{true, n})
	}
	for _, r := range rows {
		m, err := c.session(r.managed, r.inFlight)
		if err != nil {
			return err
		}
		model := "default (frozen between invocations)"
		if r.managed {
			model = "Lambda Managed Instances"
		}
		fmt.Fprintf(w, "| %s | %d | %.1f s | %.0f ms | %.1f MiB | %.1f MiB | %d/%d | %s |\n", model, r.inFlight, m.wall.Seconds(),
			float64(m.cpu)/1e6/float64(c.invocations)*1000, m.rssReady, m.rssPeak, m.delivered, c.invocations*c.lines, shutdownText(m.shutdownOK))
	}
	return nil
}

type managedResult struct {
	wall, cpu         time.Duration
	rssReady, rssPeak float64
	delivered         int
	shutdownOK        bool
}

// session runs c.invocations with inFlight at once (each of inFlight callers
// invokes in turn) and shuts down.
func (c *managedConfig) session(managed bool, inFlight int) (managedResult, error) {
	var r managedResult
	be, err := faultbackend.Start()
	if err != nil {
		return r, err
	}
	defer be.Close()
	cfg := lambdaemu.Config{FunctionName: "bench", MemoryMB: 2048}
	if managed {
		cfg.InitializationType = lambdaemu.InitManagedInstances
	}
	emu, err := lambdaemu.Start(cfg)
	if err != nil {
		return r, err
	}
	defer emu.Close()
	args, err := collectorArgs(c.config)
	if err != nil {
		return r, err
	}
	out := &lambdaemutest.Output{}
	env := append([]string{"OTELCOL_LAMBDA_OTLP_ENDPOINT=" + be.Endpoint()}, c.env...)
	proc, err := emu.StartExtension(c.ext, lambdaemu.ProcessOptions{Args: args, Env: env, Output: out, Freeze: !managed})
	if err != nil {
		return r, err
	}
	for range inFlight {
		emu.RunRuntime(context.Background(), func(_ context.Context, inv lambdaemu.Invocation) ([]byte, error) {
			for k := range c.lines {
				inv.Log(benchLine(inv.RequestID, k))
			}
			return []byte(`"ok"`), nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitInit(ctx); err != nil {
		return r, fmt.Errorf("init: %w; extension output:\n%s", err, out)
	}
	pid := proc.Cmd.Process.Pid
	readyCPU := cpuTime(pid)
	r.rssReady = rssMiB(pid)
	r.rssPeak = r.rssReady
	stop := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if !emu.Frozen() { // a frozen process's RSS does not change
					r.rssPeak = max(r.rssPeak, rssMiB(pid))
				}
			}
		}
	})

	start := time.Now()
	var mu sync.Mutex
	var ids []string
	var invokeErr error
	var callers sync.WaitGroup
	for i := range inFlight {
		callers.Go(func() {
			for k := i; k < c.invocations; k += inFlight {
				res, err := emu.Invoke(context.Background(), lambdaemu.InvokeRequest{Payload: []byte(`{}`)})
				mu.Lock()
				if err != nil {
					invokeErr = errors.Join(invokeErr, err)
				}
				ids = append(ids, res.RequestID)
				mu.Unlock()
			}
		})
	}
	callers.Wait()
	r.wall = time.Since(start)
	close(stop)
	sampling.Wait()
	if invokeErr != nil {
		return r, fmt.Errorf("invoke: %w; extension output:\n%s", invokeErr, out)
	}

	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	sd, err := emu.Shutdown(sctx, "spindown")
	if err != nil {
		return r, err
	}
	<-proc.Done()
	r.shutdownOK = sd.OK()
	if st := proc.Cmd.ProcessState; st != nil {
		r.cpu = st.UserTime() + st.SystemTime() - readyCPU
	}
	want := map[string]bool{}
	for _, id := range ids {
		for k := range c.lines {
			want[benchLine(id, k)] = true
		}
	}
	got, _ := firstArrivals(be, want)
	r.delivered = len(got)
	return r, nil
}
