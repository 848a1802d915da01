package engine

// Reading /proc for the sweeps of strays_linux.go.

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

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

// pidRange is the pids a sweep reads: (lo, hi] of the pid cycle, or
// every pid when all is set.
type pidRange struct {
	lo, hi int
	all    bool
}

// maxProbe is the widest range a sweep reads pid by pid; a wider one (or
// one that wraps round) is read from the listing of /proc.
const maxProbe = 256

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
