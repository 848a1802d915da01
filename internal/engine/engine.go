// Package engine runs one subprocess the way the worker needs: stoppable
// with everything it started, tied to the worker's life, bounded in time,
// its output teed line by line into an event log.
//
// The same runner serves the engine itself (scope "run") and the pip and
// python steps of an environment build (scope "environment").
//
// How a subprocess tree is held together depends on the system: a process
// group with a parent-death signal on Linux (and the worker as the child
// subreaper, see BecomeSubreaper), a process group on macOS and the BSDs, a
// Job object on Windows. Each lives in a file of its own.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/ade-dev/ade-worker/internal/eventlog"
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
	// (Windows has no SIGTERM: there the tree is ended at once.)
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

	// JobVariable is set in the environment of every subprocess to a random
	// value of its own, which its descendants inherit: on Linux it is how
	// the worker recognises the processes of a run that left its process
	// group (see BecomeSubreaper).
	JobVariable = "ADE_ENGINE_JOB"
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
	// signal n; ExitTimedOut when the timeout stopped it. On Windows it is
	// the exit code as Windows reports it (1 for a tree the worker ended).
	ExitCode int
	// Signal names the signal that killed the process ("SIGKILL"), if any;
	// always empty on Windows.
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

// errTimedOut is the cause of a run's context when Spec.Timeout ends it.
var errTimedOut = errors.New("subprocess timed out")

// Stop reasons recorded by a Cmd's Cancel.
const (
	notStopped int32 = iota
	stoppedByCancel
	stoppedByTimeout
)

// Run starts s and waits for it to end, its output drained and the process
// reaped. It returns an error only when the process could not be started.
//
// The process and whatever it starts are held together (a process group,
// a Job object on Windows), so that stopping it (timeout, ctx) and
// cleaning up after it stops its children too, and tied to the worker, so
// that it is killed if the worker itself dies, even by SIGKILL (on Linux
// and Windows). When the process exits, whatever is left of its tree is
// killed: a finished run leaves nothing running behind it.
func Run(ctx context.Context, s Spec) (Result, error) {
	if s.Path == "" {
		return Result{}, errors.New("start subprocess: no program given")
	}
	s = s.withDefaults()
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", s.Path, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("start %s: create stdout pipe: %w", s.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return Result{}, fmt.Errorf("start %s: create stderr pipe: %w", s.Path, err)
	}
	runCtx, cancel := runContext(ctx, s.Timeout)
	defer cancel()

	job := newJobID()
	ctl := newControl()
	var stopped atomic.Int32
	cmd := command(runCtx, s, job, ctl, &stopped)
	cmd.Stdout, cmd.Stderr = outW, errW

	mark := newStrayMark()
	waited, err := startLocked(cmd, ctl)
	// The child holds its own copies of the write ends; closing ours lets
	// the readers see EOF once every process that holds one is gone.
	closeAll(outW, errW)
	if err != nil {
		closeAll(outR, errR)
		return Result{}, fmt.Errorf("start %s: %w", s.Path, err)
	}
	start := time.Now()
	out := newCollector(s)
	drained := out.readAll(outR, errR)

	waitErr := <-waited
	res := Result{Duration: time.Since(start)}
	ctl.release()
	endStrays(job, mark)
	drain(s, cmd, drained, outR, errR)

	state := cmd.ProcessState
	if state == nil {
		// Wait failed without a status; nothing meaningful to report.
		return res, fmt.Errorf("wait for %s: %w", s.Path, waitErr)
	}
	res.ExitCode, res.Signal = exitStatus(state)
	switch stopped.Load() {
	case stoppedByTimeout:
		res.TimedOut = true
		res.ExitCode = ExitTimedOut
	case stoppedByCancel:
		res.Canceled = true
	}
	res.UserCPU = state.UserTime()
	res.SysCPU = state.SystemTime()
	res.Completed, res.Tail = out.result()
	return res, nil
}

// command is the Cmd for s. Its Cancel asks the tree to end and records
// why in stopped; if the process has not exited KillGrace later, os/exec
// kills it, and what is left of its tree goes once it is reaped.
func command(runCtx context.Context, s Spec, job string, ctl *control, stopped *atomic.Int32) *exec.Cmd {
	cmd := exec.CommandContext(runCtx, s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = append(s.Env[:len(s.Env):len(s.Env)], JobVariable+"="+job)
	cmd.Cancel = func() error {
		if err := ctl.terminate(); err != nil {
			return err
		}
		reason := stoppedByCancel
		if errors.Is(context.Cause(runCtx), errTimedOut) {
			reason = stoppedByTimeout
		}
		stopped.Store(reason)
		return nil
	}
	cmd.WaitDelay = s.KillGrace
	ctl.prepare(cmd)
	return cmd
}

// withDefaults fills in what s leaves unset.
func (s Spec) withDefaults() Spec {
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
	return s
}

// runContext is ctx, ended with errTimedOut as its cause after timeout
// when there is one.
func runContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeoutCause(ctx, timeout, errTimedOut)
	}
	return context.WithCancel(ctx)
}

// drain waits for the readers to reach the ends of both pipes. Everything
// of the run is dead by now, so the pipes close as soon as the readers
// have read what is left, unless a process the worker could not stop (one
// that left the process group where the worker is not the subreaper)
// holds one open: then KillGrace bounds the wait and the read ends are
// closed under it.
func drain(s Spec, cmd *exec.Cmd, drained <-chan struct{}, readEnds ...*os.File) {
	t := time.NewTimer(s.KillGrace)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		slog.Warn("subprocess output still open after exit; closing it",
			slog.String("path", s.Path), slog.Int("pid", cmd.Process.Pid))
		// Closing a read end ends a Read blocked on it (os.ErrClosed).
		closeAll(readEnds...)
		<-drained
	}
	closeAll(readEnds...)
}

// closeAll closes files whose close errors would change nothing: pipe ends
// the worker is done with (closing one twice is harmless).
func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// newJobID is the value of JobVariable for one subprocess.
func newJobID() string { return rand.Text() }
