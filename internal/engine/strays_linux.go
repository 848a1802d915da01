package engine

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
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

// reaper is the worker's bookkeeping of its own children.
var reaper struct {
	sync.Mutex
	enabled bool
	// live counts the subprocesses os/exec waits for, by pid (a count: a
	// pid os/exec has reaped may be reused before its entry goes).
	live map[int]int
	// killed holds children killed here and not reaped yet.
	killed map[int]struct{}
}

const (
	// strayWait bounds how long the end of a run waits for the processes
	// it killed to die before leaving them to a later sweep.
	strayWait = 5 * time.Second
	// strayPauseMax is the longest pause between two sweeps of one run.
	strayPauseMax = 50 * time.Millisecond
)

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
	return nil
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
// job that are still there once its process has been reaped and its group
// killed. It sweeps until a sweep finds nothing to do, each kill making
// the victim's own children the worker's in turn.
func endStrays(job string) {
	reaper.Lock()
	enabled := reaper.enabled
	reaper.Unlock()
	if !enabled {
		return
	}
	deadline := time.Now().Add(strayWait)
	pause := time.Millisecond
	for {
		acted, pending, err := sweep(job)
		if err != nil {
			slog.Warn("look for processes left by a subprocess", slog.Any("error", err))
			return
		}
		if !acted && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			slog.Warn("processes left by a subprocess did not die in time; a later sweep reaps them",
				slog.Int("pending", pending))
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, strayPauseMax)
	}
}

// sweep makes one pass over the worker's children that os/exec does not
// wait for: it reaps the dead ones (those it killed, and orphans of other
// process groups than the worker's own), and kills the live ones carrying
// job. It reports whether it did anything and how many killed children
// are still to be reaped.
func sweep(job string) (acted bool, pending int, err error) {
	reaper.Lock()
	defer reaper.Unlock()
	if reaper.killed == nil {
		reaper.killed = make(map[int]struct{})
	}
	kids, err := children()
	if err != nil {
		return false, len(reaper.killed), err
	}
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
				acted = true
			}
		case !killed && carriesJob(kid.pid, job):
			target := kid.pid
			if kid.pgid == kid.pid {
				target = -kid.pid // it leads a group: end the group with it
			}
			if err := syscall.Kill(target, syscall.SIGKILL); err != nil {
				slog.Warn("kill a process left by a subprocess", slog.Int("pid", target), slog.Any("error", err))
				continue
			}
			reaper.killed[kid.pid] = struct{}{}
			acted = true
		}
	}
	return acted, len(reaper.killed), nil
}

// reap collects a dead child, reporting whether it is gone.
func reap(pid int) bool {
	var status unix.WaitStatus
	got, err := unix.Wait4(pid, &status, unix.WNOHANG, nil)
	return got == pid || errors.Is(err, unix.ECHILD)
}

// childProc is one child process of the worker, as /proc shows it.
type childProc struct {
	pid, pgid int
	zombie    bool
}

// children lists the worker's children from /proc: every process whose
// parent is the worker.
func children() ([]childProc, error) {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var kids []childProc
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		kid, ppid, ok := readStat(pid)
		if ok && ppid == self {
			kids = append(kids, kid)
		}
	}
	return kids, nil
}

// readStat reads a process's state, parent and group from
// /proc/<pid>/stat; ok is false when the process has gone.
func readStat(pid int) (kid childProc, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return childProc{}, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold anything, so the
	// fields are counted from its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return childProc{}, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 {
		return childProc{}, 0, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgid, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil {
		return childProc{}, 0, false
	}
	return childProc{pid: pid, pgid: pgid, zombie: string(f[0]) == "Z"}, ppid, true
}

// carriesJob reports whether the environment a process started with holds
// JobVariable=job.
func carriesJob(pid int, job string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	want := []byte(JobVariable + "=" + job)
	for entry := range bytes.SplitSeq(b, []byte{0}) {
		if bytes.Equal(entry, want) {
			return true
		}
	}
	return false
}
