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

// lastPid is the pid most recently allocated in the worker's pid
// namespace: the last field of /proc/loadavg.
func lastPid() (int, error) {
	var buf [128]byte
	n, err := readSmall("/proc/loadavg", buf[:])
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(buf[:n])
	if len(f) < 5 {
		return 0, fmt.Errorf("/proc/loadavg: %q", buf[:n])
	}
	return strconv.Atoi(string(f[4]))
}

// inCycle reports whether pid lies in (lo, hi] of the pid cycle, which
// wraps round after its largest pid.
func inCycle(pid, lo, hi int) bool {
	if lo <= hi {
		return pid > lo && pid <= hi
	}
	return pid > lo || pid <= hi
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

// pidRange is the pids a sweep reads: (lo, hi] of the pid cycle, or
// every pid when all is set.
type pidRange struct {
	lo, hi int
	all    bool
}

// maxProbe is the widest range a sweep reads pid by pid; a wider one (or
// one that wraps round) is read from the listing of /proc.
const maxProbe = 256

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

// pids lists the pids of r that may be processes: the range itself when it
// is short, else the processes /proc lists that fall in it. A probed pid
// may be a thread of a process (/proc answers for threads too, and shows
// their process's parent): one of a child carrying the run's value is
// killed with its process, and wait4 on it finds nothing to reap.
func (r pidRange) pids() ([]int, error) {
	if !r.all && r.lo <= r.hi && r.hi-r.lo <= maxProbe {
		pids := make([]int, 0, r.hi-r.lo)
		for pid := r.lo + 1; pid <= r.hi; pid++ {
			pids = append(pids, pid)
		}
		return pids, nil
	}
	dir, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err == nil && (r.all || inCycle(pid, r.lo, r.hi)) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
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

// childProc is one child process of the worker, as /proc shows it.
type childProc struct {
	pid, pgid int
	zombie    bool
}

// children lists the worker's children among the pids of r: the
// processes whose parent is the worker. It reads a stat file per pid, in
// three system calls each (one when there is no such process).
func children(r pidRange) ([]childProc, error) {
	pids, err := r.pids()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var kids []childProc
	var buf [512]byte
	for _, pid := range pids {
		if pid == self {
			continue
		}
		kid, ppid, ok := readStat(pid, "/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
		if ok && ppid == self {
			kids = append(kids, kid)
		}
	}
	return kids, nil
}

// readStat reads a process's state, parent and group from its stat file
// at path; ok is false when the process has gone.
func readStat(pid int, path string, buf []byte) (kid childProc, ppid int, ok bool) {
	n, err := readSmall(path, buf)
	if err != nil {
		return childProc{}, 0, false
	}
	b := buf[:n]
	// "pid (comm) state ppid pgrp ...": comm may hold anything, so the
	// fields are counted from its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return childProc{}, 0, false
	}
	state := b[i+2]
	rest := b[min(i+4, len(b)):]
	ppid, rest, ok1 := leadingInt(rest)
	pgid, _, ok2 := leadingInt(rest)
	if !ok1 || !ok2 {
		return childProc{}, 0, false
	}
	return childProc{pid: pid, pgid: pgid, zombie: state == 'Z'}, ppid, true
}

// readSmall reads the start of the file at path into buf, directly:
// os.ReadFile would allocate a buffer and an *os.File, and make three
// more system calls, for each of the hundreds of files a sweep reads.
func readSmall(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Read(fd, buf)
}

// leadingInt parses the decimal number at the start of b and returns what
// follows the space after it.
func leadingInt(b []byte) (n int, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, nil, false
	}
	return n, b[min(i+1, len(b)):], true
}

// Answers of carriesJob.
const (
	jobAbsent = iota
	jobCarried
	jobUnknown
)

// carriesJob reports whether the environment a process started with holds
// JobVariable=job. A process in the middle of an exec, or exiting, shows
// an empty environment for a moment: that is jobUnknown, to be read again.
// One that has gone, or that the worker may not read (a set-user-ID
// program), is jobAbsent.
func carriesJob(pid int, job string) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	switch {
	case err != nil:
		return jobAbsent
	case len(b) == 0:
		return jobUnknown
	}
	want := []byte(JobVariable + "=" + job)
	for entry := range bytes.SplitSeq(b, []byte{0}) {
		if bytes.Equal(entry, want) {
			return jobCarried
		}
	}
	return jobAbsent
}
