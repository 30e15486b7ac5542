package lambdaemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// RIEModule is the pinned Runtime Interface Emulator (needs Go >= 1.26.6).
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// rieCacheBin is where InstallRIE puts the binary.
func rieCacheBin() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "otelcol-lambda", "bin"), nil
}

// FindRIE looks for aws-lambda-rie in $LAMBDA_RIE, PATH, $GOBIN or
// $GOPATH/bin, /tmp/gobin and the InstallRIE cache.
func FindRIE() (string, error) {
	if p := os.Getenv("LAMBDA_RIE"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "bin"))
	}
	dirs = append(dirs, "/tmp/gobin")
	if c, err := rieCacheBin(); err == nil {
		dirs = append(dirs, c)
	}
	for _, d := range dirs {
		p := filepath.Join(d, "aws-lambda-rie")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("aws-lambda-rie not found (set LAMBDA_RIE, or run InstallRIE / go install " + RIEModule + ")")
}

// InstallRIE installs RIEModule with go install into a cache directory under
// os.UserCacheDir and returns the binary's path (about a minute, once).
func InstallRIE(ctx context.Context) (string, error) {
	dir, err := rieCacheBin()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "install", RIEModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w: %s", RIEModule, err, out)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// RIEConfig configures StartRIE.
type RIEConfig struct {
	// Binary is aws-lambda-rie; default FindRIE().
	Binary string
	// Bootstrap is the runtime executable.
	Bootstrap string
	// Extensions are external extension executables; each appears as
	// /opt/extensions/<file name> and keeps that name as argv[0].
	Extensions []string
	// Function describes the function (name, version, memory, Timeout in whole
	// seconds for RIE) and the Telemetry API settings of the proxy.
	Function Config
	// Env is exported to the runtime and the extensions.
	Env []string
	// Output receives RIE's own output and a copy of every runtime and extension line.
	Output io.Writer
}

// RIE is a running Runtime Interface Emulator behind an RIEProxy, in a private
// mount namespace where a scratch directory is bind-mounted over /opt (RIE
// only looks for extensions in /opt/extensions). It needs root and unshare.
type RIE struct {
	Proxy *RIEProxy

	cmd       *exec.Cmd
	pid       int // RIE itself, unshare's child
	dir       string
	invokeURL string
	fifos     []*os.File
	readers   sync.WaitGroup
	done      chan struct{}
	exitErr   error
	closeOnce sync.Once
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeWrapper writes a bash script that points the real executable at the
// proxy, keeps name as its argv[0], and sends its output to fifo.
func writeWrapper(path, bash, proxy, real, name, fifo string, env []string) error {
	var b strings.Builder
	b.WriteString("#!" + bash + "\n")
	b.WriteString("export AWS_LAMBDA_RUNTIME_API=" + shellQuote(proxy) + "\n")
	for _, kv := range env {
		b.WriteString("export " + shellQuote(kv) + "\n")
	}
	b.WriteString("exec -a " + shellQuote(name) + " " + shellQuote(real) + ` "$@" >>` + shellQuote(fifo) + " 2>&1\n")
	return os.WriteFile(path, []byte(b.String()), 0o755)
}

// StartRIE prepares the scratch /opt, starts the proxy and RIE, and waits
// until RIE accepts invocations. RIE itself starts the runtime and the
// extensions at the first Invoke.
func StartRIE(ctx context.Context, cfg RIEConfig) (_ *RIE, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("lambdaemu: StartRIE needs root (mount namespace with /opt bind mount)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: StartRIE needs unshare: %w", err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: StartRIE needs bash for its wrappers (exec -a): %w", err)
	}
	if cfg.Binary == "" {
		if cfg.Binary, err = FindRIE(); err != nil {
			return nil, err
		}
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	fc := cfg.Function.withDefaults()
	r := &RIE{done: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = r.Close()
		}
	}()
	if r.dir, err = os.MkdirTemp("", "lambdaemu-rie-"); err != nil {
		return nil, err
	}
	runtimeAddr, err := loopback.FreeAddr()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := loopback.FreeAddr()
	if err != nil {
		return nil, err
	}
	r.invokeURL = "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	if r.Proxy, err = StartRIEProxy(ProxyConfig{Upstream: runtimeAddr, Function: cfg.Function}); err != nil {
		return nil, err
	}
	extDir := filepath.Join(r.dir, "opt", "extensions")
	if err = os.MkdirAll(extDir, 0o755); err != nil {
		return nil, err
	}
	openFIFO := func(name string, emit func(string)) (string, error) {
		path := filepath.Join(r.dir, name+".fifo")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return "", fmt.Errorf("mkfifo %s: %w", path, err)
		}
		// Read-write, so opening never blocks and writers coming and going never end the stream.
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return "", err
		}
		r.fifos = append(r.fifos, f)
		r.readers.Go(func() {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				_, _ = fmt.Fprintln(cfg.Output, sc.Text())
				emit(sc.Text())
			}
		})
		return path, nil
	}
	for _, ext := range cfg.Extensions {
		abs, err := filepath.Abs(ext)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(abs)
		fifo, err := openFIFO("ext-"+name, r.Proxy.ExtensionLog)
		if err != nil {
			return nil, err
		}
		if err := writeWrapper(filepath.Join(extDir, name), bash, r.Proxy.Addr(), abs, name, fifo, cfg.Env); err != nil {
			return nil, err
		}
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	fifo, err := openFIFO("runtime", r.Proxy.FunctionLog)
	if err != nil {
		return nil, err
	}
	wrapper := filepath.Join(r.dir, "bootstrap")
	if err := writeWrapper(wrapper, bash, r.Proxy.Addr(), bootstrap, "bootstrap", fifo, cfg.Env); err != nil {
		return nil, err
	}
	script := "mount --bind " + shellQuote(filepath.Join(r.dir, "opt")) + " /opt && exec " + shellQuote(cfg.Binary) +
		" --runtime-api-address " + runtimeAddr + " --runtime-interface-emulator-address " + invokeAddr + " " + shellQuote(wrapper)
	// A private PID namespace as well: RIE is its init, so when RIE dies (or
	// unshare is killed: --kill-child) the runtime and extensions die with it.
	// --mount-proc gives it its own /proc: with the host's, a process looking
	// itself up by its namespace pid (the collector's process metrics do)
	// finds nothing, or another process.
	r.cmd = exec.Command(unshare, "-m", "-p", "--mount-proc", "--kill-child", "--propagation", "private", "sh", "-c", script)
	r.cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_FUNCTION_NAME="+fc.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION="+fc.FunctionVersion,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fc.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int((fc.Timeout+time.Second-1)/time.Second)),
		"AWS_REGION="+fc.Region,
	)
	r.cmd.Stdout, r.cmd.Stderr = cfg.Output, cfg.Output
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start RIE: %w", err)
	}
	go func() {
		r.exitErr = r.cmd.Wait()
		close(r.done)
	}()
	// Ready when RIE listens for invocations.
	for {
		if r.pid == 0 {
			r.pid = childPID(r.cmd.Process.Pid)
		}
		if conn, derr := net.DialTimeout("tcp", invokeAddr, time.Second); derr == nil && r.pid != 0 {
			_ = conn.Close()
			return r, nil
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("RIE exited at start: %v", r.exitErr)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Invoke posts one invocation to RIE with traceHeader as X-Amzn-Trace-Id and
// returns RIE's status and body.
func (r *RIE) Invoke(ctx context.Context, payload []byte, traceHeader string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.invokeURL, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	if traceHeader != "" {
		req.Header.Set("X-Amzn-Trace-Id", traceHeader)
	}
	r.Proxy.ExpectTraceHeader(traceHeader)
	client := http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// childPID returns the first child of pid (0 if none yet).
func childPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

// Shutdown sends SIGTERM, on which RIE sends SHUTDOWN to the extensions, and
// waits for RIE to exit.
func (r *RIE) Shutdown(ctx context.Context) error {
	if err := syscall.Kill(r.pid, syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when RIE has exited.
func (r *RIE) Done() <-chan struct{} { return r.done }

// Close kills RIE and whatever it started, stops the proxy and removes the scratch directory.
func (r *RIE) Close() error {
	r.closeOnce.Do(func() {
		if r.cmd != nil && r.cmd.Process != nil {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		for _, f := range r.fifos {
			_ = f.Close()
		}
		r.readers.Wait()
		if r.Proxy != nil {
			_ = r.Proxy.Close()
		}
		if r.dir != "" {
			_ = os.RemoveAll(r.dir)
		}
	})
	return nil
}
