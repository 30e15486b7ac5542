package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// The startup mode measures start-up side by side, in one run: builds of the
// extension (launcher and collector) under the emulator, and a plain
// collector that is no extension (a minimal stock OCB build, the yardstick),
// started as a process of its own. Each round starts every candidate once,
// in an order that rotates from round to round, so the per-round ratios
// stay meaningful while the machine's speed drifts.
//
//	lambda-bench startup --runs 20 \
//	  --candidate after=dist/amd64/otelcol-lambda-launcher:dist/amd64/otelcol-lambda \
//	  --candidate before=/tmp/before/otelcol-lambda-launcher:/tmp/before/otelcol-lambda \
//	  --stock /tmp/minimal/otelcol-minimal --stock-config /tmp/minimal/config.yaml
//
// For the extension: exec to registered, to its OTLP/HTTP port accepting a
// connection, to ready (first /event/next), and RSS (launcher and collector)
// when ready. For the stock build: exec to its OTLP/HTTP port accepting a
// connection, and its RSS then.

// candidate is one build of the extension: NAME=LAUNCHER:COLLECTOR, then
// optionally :KEY=VALUE,KEY=VALUE for the launcher's environment.
type candidate struct {
	name, launcher, collector, config string
	env                               []string
}

func parseCandidate(s string) (candidate, error) {
	name, rest, ok := strings.Cut(s, "=")
	parts := strings.SplitN(rest, ":", 3)
	if !ok || len(parts) < 2 {
		return candidate{}, fmt.Errorf("%q: want NAME=LAUNCHER:COLLECTOR[:KEY=VALUE,...]", s)
	}
	c := candidate{name: name, launcher: parts[0], collector: parts[1]}
	if len(parts) == 3 {
		c.env = strings.Split(parts[2], ",")
	}
	return c, nil
}

// startupRun is one start of a candidate (or, with stock, of the stock build).
type startupRun struct {
	registered, listening, ready time.Duration
	rssMiB, anonMiB              float64
}

func startupMain(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	var specs, configs listFlag
	fs.Var(&specs, "candidate", "NAME=LAUNCHER:COLLECTOR[:KEY=VALUE,...] (repeatable; the first is A of the A/B ratios)")
	config := fs.String("config", "collector-config.yaml", "collector config of the candidates (listeners are moved to loopback)")
	fs.Var(&configs, "candidate-config", "NAME=CONFIG: another config for one candidate (repeatable)")
	stock := fs.String("stock", "", "a plain collector binary (no extension) to measure beside them")
	stockConfig := fs.String("stock-config", "", "its config; its otlp receiver's listeners are moved to loopback")
	runs := fs.Int("runs", 20, "rounds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	own := map[string]string{}
	for _, s := range configs {
		name, path, _ := strings.Cut(s, "=")
		own[name] = path
	}
	var cands []candidate
	for _, s := range specs {
		c, err := parseCandidate(s)
		if err != nil {
			return err
		}
		c.config = cmp.Or(own[c.name], *config)
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return errors.New("at least one --candidate is required")
	}
	sink, err := startSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	slots := len(cands)
	if *stock != "" {
		slots++
	}
	results := make([][]startupRun, slots) // by slot, then round
	for round := range *runs {
		for i := range slots {
			slot := (round + i) % slots
			var r startupRun
			var err error
			if slot < len(cands) {
				r, err = startCandidate(cands[slot], sink.Addr().String())
			} else {
				r, err = startStock(*stock, *stockConfig, sink.Addr().String())
			}
			if err != nil {
				return err
			}
			results[slot] = append(results[slot], r)
		}
	}

	fmt.Printf("%d rounds; median (min to max)\n\n", *runs)
	fmt.Println("| build | exec→registered | exec→OTLP port | exec→ready | RSS when ready | of it anonymous |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	ms := func(rs []startupRun, f func(startupRun) time.Duration) string {
		return spread(rs, func(r startupRun) float64 { return float64(f(r)) / 1e6 }, "%.1f ms")
	}
	for slot, rs := range results {
		if slot == len(cands) {
			fmt.Printf("| stock (%s) | | %s | | %s | %s |\n", *stock,
				ms(rs, func(r startupRun) time.Duration { return r.listening }),
				spread(rs, func(r startupRun) float64 { return r.rssMiB }, "%.1f MiB"),
				spread(rs, func(r startupRun) float64 { return r.anonMiB }, "%.1f MiB"))
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", cands[slot].name,
			ms(rs, func(r startupRun) time.Duration { return r.registered }),
			ms(rs, func(r startupRun) time.Duration { return r.listening }),
			ms(rs, func(r startupRun) time.Duration { return r.ready }),
			spread(rs, func(r startupRun) float64 { return r.rssMiB }, "%.1f MiB"),
			spread(rs, func(r startupRun) float64 { return r.anonMiB }, "%.1f MiB"))
	}
	fmt.Println("\nPer-round ratios, median (min to max):")
	ratio := func(a, b []startupRun, fa, fb func(startupRun) float64) string {
		rs := make([]startupRun, len(a))
		for i := range a {
			rs[i].rssMiB = fa(a[i]) / fb(b[i])
		}
		return spread(rs, func(r startupRun) float64 { return r.rssMiB }, "%.2f")
	}
	ready := func(r startupRun) float64 { return float64(r.ready) }
	listening := func(r startupRun) float64 { return float64(r.listening) }
	rss := func(r startupRun) float64 { return r.rssMiB }
	for slot := range cands {
		if *stock != "" {
			st := results[len(cands)]
			fmt.Printf("- %s / stock: exec→ready / stock's exec→OTLP port %s; exec→OTLP port %s; RSS %s\n", cands[slot].name,
				ratio(results[slot], st, ready, listening), ratio(results[slot], st, listening, listening), ratio(results[slot], st, rss, rss))
		}
		if slot > 0 {
			fmt.Printf("- %s / %s: exec→ready %s; exec→OTLP port %s; RSS %s\n", cands[slot].name, cands[0].name,
				ratio(results[slot], results[0], ready, ready), ratio(results[slot], results[0], listening, listening),
				ratio(results[slot], results[0], rss, rss))
		}
	}
	return nil
}

// spread formats the median and range of f over rs.
func spread(rs []startupRun, f func(startupRun) float64, format string) string {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return fmt.Sprintf(format+" ("+format+" to "+format+")", v[len(v)/2], v[0], v[len(v)-1])
}

func startCandidate(c candidate, sink string) (startupRun, error) {
	otlpHTTP, otlpGRPC, err := otlpAddrs()
	if err != nil {
		return startupRun{}, err
	}
	r, err := coldStart(c.launcher, coldStartOptions{
		args: loopback.CollectorArgs(c.config, otlpHTTP, otlpGRPC), sink: sink, probe: otlpHTTP,
		env: append([]string{"OTELCOL_LAMBDA_COLLECTOR=" + c.collector}, c.env...),
	})
	if err != nil {
		return startupRun{}, fmt.Errorf("%s: %w", c.name, err)
	}
	return startupRun{registered: r.registered, listening: r.listening, ready: r.ready, rssMiB: r.rssMiB, anonMiB: r.anonMiB}, nil
}

// startStock runs a plain collector until its OTLP/HTTP port accepts a
// connection, reads its RSS and stops it.
func startStock(bin, config, sink string) (startupRun, error) {
	otlpHTTP, otlpGRPC, err := otlpAddrs()
	if err != nil {
		return startupRun{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opened := probeListening(ctx, otlpHTTP)
	cmd := exec.Command(bin, "--config=file:"+config,
		"--config=yaml:receivers::otlp::protocols::http::endpoint: "+otlpHTTP,
		"--config=yaml:receivers::otlp::protocols::grpc::endpoint: "+otlpGRPC)
	cmd.Env = append(os.Environ(), "OTELCOL_LAMBDA_OTLP_ENDPOINT=http://"+sink)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return startupRun{}, err
	}
	started := time.Now()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	select {
	case at := <-opened:
		pid := cmd.Process.Pid
		return startupRun{listening: at.Sub(started), rssMiB: rssMiB(pid), anonMiB: statusMiB(pid, "RssAnon")}, nil
	case <-ctx.Done():
		return startupRun{}, fmt.Errorf("%s never accepted a connection on %s", bin, otlpHTTP)
	}
}

// probeListening connects to addr every 200 µs until it accepts, and sends
// the time it did.
func probeListening(ctx context.Context, addr string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				ch <- time.Now()
				c.Close()
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return ch
}
