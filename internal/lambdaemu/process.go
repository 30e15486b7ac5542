package lambdaemu

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessFreezer returns hooks that SIGSTOP and SIGCONT p, for Config.OnFreeze
// and Config.OnThaw: a frozen Lambda sandbox runs nothing.
// onFreeze returns once the process is stopped (on Linux, where /proc shows it),
// so the freeze is complete when the hook returns.
func ProcessFreezer(p *os.Process) (onFreeze, onThaw func()) {
	return freezer(p.Signal, func() []int { return []int{p.Pid} })
}

// groupFreezer is ProcessFreezer for the process group pgid: the processes the
// emulator starts lead a group of their own, so what they start (a launcher's
// collector) is frozen with them, as everything in a Lambda sandbox is.
func groupFreezer(pgid int) (onFreeze, onThaw func()) {
	return freezer(func(sig os.Signal) error { return syscall.Kill(-pgid, sig.(syscall.Signal)) },
		func() []int { return GroupMembers(pgid) })
}

func freezer(signal func(os.Signal) error, pids func() []int) (onFreeze, onThaw func()) {
	return func() {
			if signal(syscall.SIGSTOP) == nil {
				for _, pid := range pids() {
					waitStopped(pid)
				}
			}
		}, func() {
			_ = signal(syscall.SIGCONT)
		}
}

// GroupMembers lists the processes of group pgid, from /proc.
func GroupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := StatFields(pid); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// StatFields are the fields of /proc/<pid>/stat after the command name:
// state, ppid, pgrp, ... (nil if the process is gone).
func StatFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// RSS is the resident set size of pid (VmRSS in /proc/<pid>/status) in
// bytes, 0 if the process is gone. A stopped (frozen) process can be read.
func RSS(pid int) int64 { return StatusBytes(pid, "VmRSS") }

// StatusBytes is a size field of /proc/<pid>/status (VmRSS, RssAnon,
// RssFile, ...) in bytes; 0 when the process or the field is gone.
func StatusBytes(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// waitStopped polls /proc/<pid>/stat until the state is T (stopped), for at most a second.
func waitStopped(pid int) {
	for range 1000 {
		f := StatFields(pid)
		if len(f) == 0 || f[0] == "T" || f[0] == "t" || f[0] == "Z" {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// ProcessOptions configures StartExtension and StartRuntime.
type ProcessOptions struct {
	Args []string
	// Env is added to the emulator's environment.
	Env []string
	// Output receives a copy of every line the process writes (stdout and stderr).
	Output io.Writer
	// Freeze sends SIGSTOP at every freeze and SIGCONT at every thaw, to the
	// process's group: it and whatever it started.
	Freeze bool
}

// Process is a runtime or extension process the emulator started.
type Process struct {
	// Name is the file name: the name an extension registers under.
	Name string
	Cmd  *exec.Cmd

	extension  bool
	registered bool
	freeze     bool
	done       chan struct{}
	exitErr    error
	sigMu      sync.Mutex
	stopped    bool
	onFreeze   func()
	onThaw     func()
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is the process's exit status once Done is closed (nil: exit code 0).
func (p *Process) ExitErr() error {
	<-p.done
	return p.exitErr
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Process) stop() {
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.freeze && !p.exited() && !p.stopped {
		p.onFreeze()
		p.stopped = true
	}
}

func (p *Process) cont() {
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.stopped {
		p.onThaw()
		p.stopped = false
	}
}

// kill kills the process's group: what it started dies with it. Not once it
// has exited: its group id may then be reused (pid_max can be 32768).
func (p *Process) kill() {
	if !p.exited() {
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		p.cont()
	}
}

func (e *Emulator) processes() []*Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Process(nil), e.procs...)
}

// StartExtension runs an external extension with Env(). Its output lines become
// extension records. Started before Init ends, it is one more extension Init waits for.
func (e *Emulator) StartExtension(path string, opts ProcessOptions) (*Process, error) {
	return e.startProcess(path, opts, true)
}

// StartRuntime runs a runtime (bootstrap) process with RuntimeEnv(). Its output
// lines become function records; if it exits during an invocation, that
// invocation fails with Runtime.ExitError.
func (e *Emulator) StartRuntime(path string, opts ProcessOptions) (*Process, error) {
	return e.startProcess(path, opts, false)
}

func (e *Emulator) startProcess(path string, opts ProcessOptions, extension bool) (*Process, error) {
	env := e.RuntimeEnv()
	if extension {
		env = e.Env()
	}
	cmd := exec.Command(path, opts.Args...)
	cmd.Env = append(append(os.Environ(), env...), opts.Env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{Name: filepath.Base(path), Cmd: cmd, extension: extension, freeze: opts.Freeze, done: make(chan struct{})}
	e.mu.Lock()
	if e.phase == phaseShutdown || e.ctx.Err() != nil {
		e.mu.Unlock()
		return nil, ErrShutdown
	}
	if !extension && e.rt.proc != nil {
		e.mu.Unlock()
		return nil, errors.New("lambdaemu: a runtime process is already running")
	}
	if err := cmd.Start(); err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("lambdaemu: start %s: %w", path, err)
	}
	p.onFreeze, p.onThaw = groupFreezer(cmd.Process.Pid)
	e.procs = append(e.procs, p)
	if extension && !e.initDone {
		e.expected++
	}
	if !extension {
		e.rt.proc, e.rt.launched = p, true
	}
	e.notifyLocked()
	e.mu.Unlock()
	e.log.add(Event{Kind: EventLifecycle, Party: p.Name, Detail: fmt.Sprintf("process started (pid %d)", cmd.Process.Pid)})

	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if opts.Output != nil {
				_, _ = fmt.Fprintln(opts.Output, line)
			}
			if extension {
				e.ExtensionLog(line)
			} else {
				e.functionLog(e.currentRequestID(), line)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		_ = pw.Close()
		<-lines
		p.exitErr = err
		e.processExited(p, err)
		close(p.done)
	}()
	return p, nil
}

func (e *Emulator) processExited(p *Process, err error) {
	now := time.Now()
	detail := "process exited"
	if err != nil {
		detail += ": " + err.Error()
	}
	e.log.add(Event{Time: now, Kind: EventLifecycle, Party: p.Name, Detail: detail})
	e.mu.Lock()
	defer e.mu.Unlock()
	if !p.extension {
		e.rt.dead, e.rt.inNext = true, false
		for _, inv := range append([]*invocation{e.rt.current}, slices.Collect(maps.Values(e.running))...) {
			if inv != nil && !inv.finished {
				inv.finished = true
				inv.rec.status, inv.rec.errorType = "failure", "Runtime.ExitError"
				e.fn.emitRuntimeDone(e.hub, now, &inv.rec)
			}
		}
		if !e.initDone && e.initErrType == "" {
			e.initErrType = "Runtime.ExitError"
		}
		e.notifyLocked()
		return
	}
	for _, x := range e.exts {
		if x.proc == p {
			x.exited = true
			if x.finishedAt.IsZero() {
				x.finishedAt = now
			}
			e.hub.removeSubscriber(x.name)
		}
	}
	if !p.registered && !e.initDone && e.initErrType == "" {
		e.initErrType = "Extension.Crash"
	}
	e.notifyLocked()
}
