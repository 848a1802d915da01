// Package engine runs one subprocess the way the worker needs: in its own
// process group, tied to the worker's life, bounded in time, its output teed
// line by line into an event log.
//
// The same runner serves the engine itself (scope "run") and the pip and
// python steps of an environment build (scope "environment").
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/fdpoll"
)

const (
	// DefaultMaxLine is the longest line kept whole. Engine events are far
	// smaller; a longer line is a runaway print, kept only as a prefix.
	DefaultMaxLine = 1 << 20

	// DefaultMaxSummaryLine is the longest engine.run.completed line kept
	// whole: the run summary grows with the workbook's columns (about 200
	// bytes each) and must not be cut at DefaultMaxLine.
	DefaultMaxSummaryLine = 64 << 20

	// DefaultKillGrace is how long a stopped process group has between
	// SIGTERM and SIGKILL: enough for Python to unwind and flush.
	DefaultKillGrace = 3 * time.Second

	// ExitTimedOut is the exit code reported for a run stopped by its
	// timeout, as timeout(1) does.
	ExitTimedOut = 124

	// CompletedEvent is the engine event whose data is the run summary.
	CompletedEvent = "engine.run.completed"

	// tailLines is how many plain stderr lines Result.Tail keeps.
	tailLines = 20
	// tailLineBytes bounds each line of Result.Tail.
	tailLineBytes = 1 << 10
)

// Spec describes one subprocess.
type Spec struct {
	// Path is the program to run; a name without a slash is looked up in
	// the worker's PATH.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Dir is the working directory; empty means the worker's.
	Dir string
	// Env is the complete environment of the subprocess. Nil means
	// ChildEnv(os.Environ()), never the worker's environment as it is, so
	// that no secret leaks by omission.
	Env []string
	// Timeout bounds the run; 0 means none. A run that outlives it has its
	// process group stopped and reports TimedOut and ExitTimedOut.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL when the process
	// group is stopped, and how long output may keep flowing after the
	// process has exited. Default DefaultKillGrace.
	KillGrace time.Duration
	// Log receives every line the subprocess prints; nil discards them
	// (engine events are still recognised).
	Log *eventlog.Log
	// Scope names the subprocess in plain-line events: "run" or
	// "environment". Default "run".
	Scope string
	// MaxLine is the longest line kept; longer ones are truncated and
	// marked. Default DefaultMaxLine.
	MaxLine int
	// MaxSummaryLine is the longest line kept whole when its first MaxLine
	// bytes show an engine.run.completed event. Default
	// DefaultMaxSummaryLine; a value at or below MaxLine turns the
	// exception off.
	MaxSummaryLine int
	// OnEvent, when set, is called with each engine event as it is read,
	// one call at a time.
	OnEvent func(*eventlog.EngineEvent)
}

// Result is how a subprocess ended. A process that ran and failed is a
// Result, not an error.
type Result struct {
	// ExitCode is the process's exit status; 128+n when it was killed by
	// signal n; ExitTimedOut when the timeout stopped it.
	ExitCode int
	// Signal names the signal that killed the process ("SIGKILL"), if any.
	Signal string
	// TimedOut is set when Spec.Timeout stopped the process.
	TimedOut bool
	// Canceled is set when the context stopped the process.
	Canceled bool
	// Duration is the wall time from start to exit.
	Duration time.Duration
	// UserCPU and SysCPU are the CPU time of the process itself and of the
	// children it waited for.
	UserCPU, SysCPU time.Duration
	// Completed is the last engine.run.completed event read, whatever its
	// scope; nil when there was none. "Last" is in the order of one stream;
	// stdout and stderr are read concurrently, so an engine prints its
	// events on one of them.
	Completed *eventlog.EngineEvent
	// Tail holds the last plain (non-event) stderr lines, oldest first, for
	// an error message a person can read.
	Tail []string
}

// Run starts s and waits for it to end, its output drained and the process
// reaped. It returns an error only when the process could not be started.
//
// The process gets its own process group, so that stopping it (timeout,
// ctx) and cleaning up after it stops its children too, and a parent-death
// signal, so that it is killed if the worker itself dies, even by SIGKILL.
// When the process exits, whatever is left of its group is killed: a
// finished run leaves nothing running behind it.
func Run(ctx context.Context, s Spec) (Result, error) {
	if s.Path == "" {
		return Result{}, errors.New("start subprocess: no program given")
	}
	if s.MaxLine <= 0 {
		s.MaxLine = DefaultMaxLine
	}
	if s.MaxSummaryLine == 0 {
		s.MaxSummaryLine = DefaultMaxSummaryLine
	}
	if s.KillGrace <= 0 {
		s.KillGrace = DefaultKillGrace
	}
	if s.Scope == "" {
		s.Scope = "run"
	}
	if s.Env == nil {
		s.Env = ChildEnv(os.Environ())
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", s.Path, err)
	}

	outR, outW, err := newPipe(stdoutPipeSize)
	if err != nil {
		return Result{}, fmt.Errorf("start %s: create stdout pipe: %w", s.Path, err)
	}
	errR, errW, err := newPipe(0)
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{}, fmt.Errorf("start %s: create stderr pipe: %w", s.Path, err)
	}

	cmd := exec.Command(s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := startProcess(cmd)
	// The child holds its own copies of the write ends; closing ours lets
	// the readers see EOF once the child's group is gone.
	outW.Close()
	errW.Close()
	if p.startErr != nil {
		outR.Close()
		errR.Close()
		return Result{}, fmt.Errorf("start %s: %w", s.Path, p.startErr)
	}
	start := time.Now()
	outR.exited, errR.exited = p.exited, p.exited

	out := newCollector(s)
	// The reader that ends last closes drained.
	drained := make(chan struct{})
	var reading atomic.Int32
	reading.Store(2)
	read := func(r *pipeReader, stream string) {
		defer func() {
			if reading.Add(-1) == 0 {
				close(drained)
			}
		}()
		out.read(r, stream)
	}
	go read(outR, "stdout")
	go read(errR, "stderr")

	var res Result
	var timeout <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		res.Canceled = p.stop(s.KillGrace)
	case <-timeout:
		res.TimedOut = p.stop(s.KillGrace)
	}
	// The process has exited but is not reaped yet, so its pid, which is
	// also its group's id, cannot have been reused: signalling the group is
	// safe until the reap below.
	p.signalGroup(syscall.SIGKILL)
	state, waitErr := p.reap()
	res.Duration = time.Since(start)

	// Everything in the group is dead, so the pipes close as soon as the
	// readers reach their ends, unless a process left the group (setsid)
	// while holding one: then the grace bounds the wait.
	drainTimer := time.NewTimer(s.KillGrace)
	defer drainTimer.Stop()
	select {
	case <-drained:
	case <-drainTimer.C:
		slog.Warn("subprocess output still open after exit; closing it",
			slog.String("path", s.Path), slog.Int("pid", p.pid))
		outR.Abandon()
		errR.Abandon()
		<-drained
	}
	outR.Close()
	errR.Close()

	if state == nil {
		// Wait failed without a status; nothing meaningful to report.
		return res, fmt.Errorf("wait for %s: %w", s.Path, waitErr)
	}
	status, _ := state.Sys().(syscall.WaitStatus)
	switch {
	case status.Signaled():
		res.Signal = unix.SignalName(status.Signal())
		res.ExitCode = 128 + int(status.Signal())
	default:
		res.ExitCode = state.ExitCode()
	}
	if res.TimedOut {
		res.ExitCode = ExitTimedOut
	}
	res.UserCPU = state.UserTime()
	res.SysCPU = state.SystemTime()
	res.Completed, res.Tail = out.result()
	return res, nil
}

// process is a started child, waited for by a goroutine locked to the OS
// thread that started it.
type process struct {
	cmd      *exec.Cmd
	pid      int
	startErr error
	exited   chan struct{} // closed when the child has exited (not reaped)
	reapNow  chan struct{} // closed by Run to let the waiter reap
	reaped   chan error
	// canKill is set when the exit was observed by waitid. Should that call
	// fail, exited is closed without the child having exited, and its group
	// is left alone rather than killed while possibly still working.
	canKill bool
}

// startProcess starts cmd on a dedicated, locked OS thread that stays alive
// until the child is reaped. Linux delivers the parent-death signal when the
// thread that forked the child exits, not the process, and the Go runtime
// ends a thread whenever a goroutine locked to it exits, which code anywhere
// in the worker may do: forked from a shared thread, a healthy child could
// be killed at any moment. The thread waits on a channel, not in a system
// call, and the exit is watched through a pidfd in Go's poller: a thread
// blocked in a system call for the life of the engine would keep Go's
// system monitor polling all that time, at a cost in CPU per run.
func startProcess(cmd *exec.Cmd) *process {
	p := &process{
		cmd:     cmd,
		exited:  make(chan struct{}),
		reapNow: make(chan struct{}),
		reaped:  make(chan error, 1),
	}
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			p.startErr = err
			close(started)
			return
		}
		p.pid = cmd.Process.Pid
		close(started)
		<-p.reapNow
		p.reaped <- cmd.Wait()
	}()
	<-started
	if p.startErr == nil {
		go func() {
			err := waitExited(p.pid)
			if err != nil {
				slog.Warn("wait for subprocess exit", slog.Int("pid", p.pid), slog.Any("error", err))
			}
			p.canKill = err == nil
			close(p.exited)
		}()
	}
	return p
}

// waitExited returns once pid has exited, leaving it a zombie. It waits in
// Go's poller on a pidfd, which becomes readable when the process exits;
// on a kernel without pidfds (before Linux 5.3) it blocks in waitid.
func waitExited(pid int) error {
	fd, err := pidfdOpen(pid, 0)
	if err != nil {
		return waitExitedBlocking(pid)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return waitExitedBlocking(pid)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return waitExitedBlocking(pid)
	}
	return fdpoll.Until(rc, func(int) (bool, error) {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		// With WNOHANG, a child that has not exited leaves info zeroed.
		return info.Signo != 0, err
	})
}

// pidfdOpen is unix.PidfdOpen; tests make it fail as a kernel without
// pidfds would.
var pidfdOpen = unix.PidfdOpen

// waitExitedBlocking blocks in waitid until pid has exited, leaving it a
// zombie.
func waitExitedBlocking(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// stop asks the process group to end, and kills it if the leader has not
// exited after grace. It returns once the leader has exited, reporting
// whether it did stop it: a process that exited in the same instant the
// deadline came was not stopped.
func (p *process) stop(grace time.Duration) bool {
	select {
	case <-p.exited:
		return false
	default:
	}
	p.signalGroup(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.signalGroup(syscall.SIGKILL)
		<-p.exited
	}
	return true
}

// signalGroup signals every process in the child's group. It must not be
// called after reap.
func (p *process) signalGroup(sig syscall.Signal) {
	select {
	case <-p.exited:
		if !p.canKill {
			return
		}
	default:
	}
	if err := unix.Kill(-p.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		slog.Warn("signal subprocess group", slog.Int("pgid", p.pid),
			slog.String("signal", unix.SignalName(sig)), slog.Any("error", err))
	}
}

// reap collects the child's status and resources.
func (p *process) reap() (*os.ProcessState, error) {
	close(p.reapNow)
	err := <-p.reaped
	return p.cmd.ProcessState, err
}

// collector reads both output streams into the log and keeps what Result
// reports.
type collector struct {
	spec Spec

	mu        sync.Mutex
	completed *eventlog.EngineEvent
	tail      []string
	next      int // where the next tail line goes once tail is full

	eventMu sync.Mutex // serialises OnEvent
}

func newCollector(s Spec) *collector { return &collector{spec: s} }

func (c *collector) read(r io.Reader, stream string) {
	lr := NewLineReader(r, c.spec.MaxLine)
	defer lr.Release()
	lr.AllowLonger(c.spec.MaxSummaryLine, looksLikeSummary)
	for {
		line, dropped, err := lr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				slog.Warn("read subprocess output", slog.String("stream", stream), slog.Any("error", err))
			}
			return
		}
		if dropped > 0 {
			c.spec.Log.TruncatedLine(line, dropped, stream, c.spec.Scope)
			if stream == "stderr" {
				c.addTail(string(line) + eventlog.TruncationSuffix(dropped))
			}
			continue
		}
		ev := c.spec.Log.EngineLine(line, stream, c.spec.Scope)
		if ev == nil {
			if stream == "stderr" {
				c.addTail(string(line))
			}
			continue
		}
		if ev.Name == CompletedEvent {
			c.mu.Lock()
			c.completed = ev
			c.mu.Unlock()
		}
		if c.spec.OnEvent != nil {
			c.eventMu.Lock()
			c.spec.OnEvent(ev)
			c.eventMu.Unlock()
		}
	}
}

func (c *collector) addTail(line string) {
	line = strings.ToValidUTF8(line, "\uFFFD")
	if len(line) > tailLineBytes {
		cut := tailLineBytes
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tail) < tailLines {
		c.tail = append(c.tail, line)
		return
	}
	c.tail[c.next] = line
	c.next = (c.next + 1) % tailLines
}

func (c *collector) result() (*eventlog.EngineEvent, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := make([]string, 0, len(c.tail))
	tail = append(tail, c.tail[c.next:]...)
	tail = append(tail, c.tail[:c.next]...)
	return c.completed, tail
}

// summaryName is how an engine.run.completed line names itself.
var summaryName = []byte(`"` + CompletedEvent + `"`)

// looksLikeSummary reports whether the head of a long line is that of an
// engine.run.completed event: a JSON object naming the event in its first
// few kilobytes, where the reference engine puts it.
func looksLikeSummary(head []byte) bool {
	head = bytes.TrimLeft(head, " \t")
	return len(head) > 0 && head[0] == '{' && bytes.Contains(head[:min(len(head), 4<<10)], summaryName)
}
