package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A process that leaves its run's process group (setsid, or a group of its
// own) is out of reach of the group's signals. Once the worker is the child
// subreaper, such a process, when its parent dies, becomes the worker's
// child rather than init's, and stays its child until the worker reaps it.
// At the end of each run the worker looks through its children for the
// ones carrying the run's JobVariable in their environment, kills them (and
// their group when they lead one), and reaps them, along with any other
// orphan of a run that has died in the meantime. Signalling a child by pid
// is safe: the pid of an unreaped child cannot be reused.
//
// os/exec reaps each subprocess it started by its pid, and nothing here may
// reap one of those: their pids are registered as live under the same lock
// as the Start that created them, and a sweep holds that lock.
//
// Finding the worker's children means reading the stat file of every
// process in /proc, about 8 µs each on a 2-core machine: 0.75 ms per run
// with 90 processes, and more on a busy host. A run's processes, though,
// all have pids the system allocated after the run started, and Linux
// allocates pids in a cycle: so a sweep reads only the processes whose
// pids lie between the last pid allocated before the run's start and the
// last allocated now, pid by pid when they are few. Once a minute, and for
// a run that lasted longer, a sweep reads them all, for orphans that died
// later than their run and in case the pid cycle went all the way round.

// reaper is the worker's bookkeeping of its own children.
var reaper struct {
	sync.Mutex
	enabled bool
	// live counts the subprocesses os/exec waits for, by pid (a count: a
	// pid os/exec has reaped may be reused before its entry goes).
	live map[int]int
	// killed holds children killed here and not reaped yet.
	killed map[int]struct{}
	// fullAt is when a sweep last read every process.
	fullAt time.Time
}

const (
	// strayWait bounds how long the end of a run waits for the processes
	// it killed to die before leaving them to a later sweep.
	strayWait = 5 * time.Second
	// strayPauseMax is the longest pause between two sweeps of one run.
	strayPauseMax = 50 * time.Millisecond
	// unsureSweeps is how many sweeps a run makes for children whose
	// environment reads empty (an exec takes far less than their pauses);
	// one that stays so (a program that writes over its own environment)
	// is not held against the run's end longer.
	unsureSweeps = 5
)

// fullSweepEvery is how often a sweep reads every process (see above).
var fullSweepEvery = time.Minute

// BecomeSubreaper makes the worker the child subreaper of everything it
// starts (PR_SET_CHILD_SUBREAPER), and turns on the end-of-run sweep for
// processes that left their run's process group. The worker's run command
// calls it once at start; elsewhere than on Linux it does nothing.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become the child subreaper: %w", err)
	}
	reaper.Lock()
	defer reaper.Unlock()
	reaper.enabled = true
	// No process that left a run before now can be the worker's child.
	reaper.fullAt = time.Now()
	return nil
}

// strayMark is where a run's pids begin: the last pid the system had
// allocated before the run's process started, and when.
type strayMark struct {
	lastPid int // 0 when unknown: the sweep reads every process
	at      time.Time
}

// newStrayMark is taken just before a run's process starts.
func newStrayMark() strayMark {
	if !subreaper() {
		return strayMark{}
	}
	pid, err := lastPid()
	if err != nil {
		return strayMark{}
	}
	return strayMark{lastPid: pid, at: time.Now()}
}

func subreaper() bool {
	reaper.Lock()
	defer reaper.Unlock()
	return reaper.enabled
}

// startTracked starts cmd and registers its pid as live, under the lock a
// sweep holds, so that no sweep sees the child unregistered.
func startTracked(cmd *exec.Cmd) error {
	reaper.Lock()
	defer reaper.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	if reaper.live == nil {
		reaper.live = make(map[int]int)
	}
	reaper.live[cmd.Process.Pid]++
	return nil
}

// untrack ends the registration of a subprocess os/exec has reaped.
func untrack(pid int) {
	reaper.Lock()
	defer reaper.Unlock()
	if reaper.live[pid]--; reaper.live[pid] <= 0 {
		delete(reaper.live, pid)
	}
}

// endStrays kills and reaps the processes of the run whose JobVariable is
// job, and which started at mark, that are still there once its process
// has been reaped and its group killed. It sweeps until a sweep finds
// nothing to do, each kill making the victim's own children the worker's
// in turn.
func endStrays(job string, mark strayMark) {
	if !subreaper() {
		return
	}
	deadline := time.Now().Add(strayWait)
	pause := time.Millisecond
	for round := 1; ; round++ {
		r, err := sweep(job, mark)
		if err != nil {
			slog.Warn("look for processes left by a subprocess", slog.Any("error", err))
			return
		}
		if !r.acted && r.pending == 0 && (r.unsure == 0 || round >= unsureSweeps) {
			return
		}
		if time.Now().After(deadline) {
			slog.Warn("processes left by a subprocess did not die in time; a later sweep reaps them",
				slog.Int("pending", r.pending), slog.Int("unreadable", r.unsure))
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, strayPauseMax)
	}
}

// sweepResult is what one sweep did and left.
type sweepResult struct {
	acted   bool // it killed or reaped something
	pending int  // killed children not reaped yet
	unsure  int  // live children whose environment could not be read yet
}

// sweep makes one pass over the worker's children that os/exec does not
// wait for: it reaps the dead ones (those it killed, and orphans of other
// process groups than the worker's own), and kills the live ones carrying
// job, among the processes started since mark (or all of them, see
// fullSweepEvery).
func sweep(job string, mark strayMark) (sweepResult, error) {
	reaper.Lock()
	defer reaper.Unlock()
	if reaper.killed == nil {
		reaper.killed = make(map[int]struct{})
	}
	kids, err := children(candidates(mark))
	if err != nil {
		return sweepResult{pending: len(reaper.killed)}, err
	}
	var r sweepResult
	ownGroup := syscall.Getpgrp()
	for _, kid := range kids {
		if reaper.live[kid.pid] > 0 {
			continue
		}
		_, killed := reaper.killed[kid.pid]
		switch {
		case kid.zombie:
			// A zombie of the worker's own group may be a child started
			// outside this package, which its starter will reap.
			if (killed || kid.pgid != ownGroup) && reap(kid.pid) {
				delete(reaper.killed, kid.pid)
				r.acted = true
			}
		case killed:
		default:
			switch carriesJob(kid.pid, job) {
			case jobUnknown:
				r.unsure++
			case jobCarried:
				if killStray(kid) {
					reaper.killed[kid.pid] = struct{}{}
					r.acted = true
				}
			}
		}
	}
	r.pending = len(reaper.killed)
	return r, nil
}

// candidates is the range of pids a sweep reads: those allocated since
// mark, or all of them (see fullSweepEvery).
func candidates(mark strayMark) pidRange {
	now := time.Now()
	if mark.lastPid == 0 || now.Sub(mark.at) > fullSweepEvery || now.Sub(reaper.fullAt) > fullSweepEvery {
		reaper.fullAt = now
		return pidRange{all: true}
	}
	hi, err := lastPid()
	if err != nil {
		reaper.fullAt = now
		return pidRange{all: true}
	}
	return pidRange{lo: mark.lastPid, hi: hi}
}

// killStray kills a child left by a run, with its group when it leads one.
func killStray(kid childProc) bool {
	target := kid.pid
	if kid.pgid == kid.pid {
		target = -kid.pid
	}
	if err := syscall.Kill(target, syscall.SIGKILL); err != nil {
		slog.Warn("kill a process left by a subprocess", slog.Int("pid", target), slog.Any("error", err))
		return false
	}
	return true
}

// reap collects a dead child, reporting whether it is gone.
func reap(pid int) bool {
	var status unix.WaitStatus
	got, err := unix.Wait4(pid, &status, unix.WNOHANG, nil)
	return got == pid || errors.Is(err, unix.ECHILD)
}
