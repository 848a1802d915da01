package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The read end must stay out of Go's poller, in a one-shot epoll of its
// own: an ordinary registration makes every engine write wake a thread,
// which is what pipe.go avoids.
func TestPipeReadEndIsOneShot(t *testing.T) {
	r, w, err := newPipe(stdoutPipeSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fl, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_NONBLOCK == 0 {
		t.Error("the read end is blocking")
	}
	flags, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Error("the read end would leak into the child")
	}
	// /proc/self/fdinfo of the epoll instance lists what it watches.
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", r.epfd()))
	if err != nil {
		t.Skipf("no fdinfo: %v", err)
	}
	var tfd int
	var events uint32
	for _, line := range strings.Split(string(info), "\n") {
		if strings.HasPrefix(line, "tfd:") {
			fmt.Sscanf(line, "tfd: %d events: %x", &tfd, &events)
		}
	}
	if tfd != r.fd || events&unix.EPOLLONESHOT == 0 || events&unix.EPOLLIN == 0 {
		t.Errorf("epoll watches fd %d with events %#x, want fd %d, EPOLLIN|EPOLLONESHOT (fdinfo:\n%s)", tfd, events, r.fd, info)
	}
	size, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if max := pipeMaxSize(t); max >= stdoutPipeSize && size != stdoutPipeSize {
		t.Errorf("pipe buffer is %d bytes, want %d", size, stdoutPipeSize)
	}
}

func pipeMaxSize(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		t.Skipf("no pipe-max-size: %v", err)
	}
	var n int
	fmt.Sscan(string(b), &n)
	return n
}

// A writer that streams many small writes, then stops: every byte arrives
// in order, coalesced pauses included, and the reader sees EOF when the
// writer closes.
func TestPipeReaderStreamsEverything(t *testing.T) {
	r, w, err := newPipe(stdoutPipeSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exited := make(chan struct{})
	r.exited = exited
	var want bytes.Buffer
	go func() {
		defer w.Close()
		for i := range 20000 {
			line := fmt.Sprintf("{\"event\":\"tick\",\"data\":{\"i\":%d}}\n", i)
			w.WriteString(line)
			if i%5000 == 4999 {
				time.Sleep(5 * time.Millisecond) // a quiet spell: the stream cools
			}
		}
	}()
	for i := range 20000 {
		fmt.Fprintf(&want, "{\"event\":\"tick\",\"data\":{\"i\":%d}}\n", i)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read %d bytes, want %d, in order", len(got), want.Len())
	}
}

// Abandon ends a Read that waits on a pipe someone else holds open.
func TestPipeReaderAbandon(t *testing.T) {
	r, w, err := newPipe(stdoutPipeSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open: no EOF will come
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 64))
		done <- err
	}()
	r.Abandon()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Read after Abandon = %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after Abandon")
	}
}

// A process that prints a burst and exits: the whole burst is logged, in
// order, and the pause that coalesces reads does not outlive the process.
func TestRunBurstThenExit(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := sh(`i=0; while [ $i -lt 3000 ]; do echo "{\"event\":\"engine.tick\",\"data\":{\"i\":$i}}"; i=$((i+1)); done`)
	s.Log = l
	res := run(t, s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	recs := readLog(t, l, path)
	if len(recs) != 3000 {
		t.Fatalf("logged %d records, want 3000", len(recs))
	}
	for i, r := range recs {
		if got := fmt.Sprint(r.data()["i"]); got != fmt.Sprint(i) || r["event"] != "engine.tick" {
			t.Fatalf("record %d = %v", i, r)
		}
	}
	if !strings.Contains(fmt.Sprint(recs[0]["context"]), "run-1") {
		t.Errorf("context missing: %v", recs[0])
	}
}

// Every descriptor a run opens (two pipes, their epoll instances, the
// pidfd) is closed when Run returns.
func TestRunLeavesNoDescriptors(t *testing.T) {
	count := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("no /proc/self/fd: %v", err)
		}
		return len(entries)
	}
	run(t, sh(`echo '{"event":"engine.run.completed","data":{}}'; echo err >&2`))
	before := count()
	for range 20 {
		res := run(t, sh(`echo '{"event":"engine.run.completed","data":{}}'; echo err >&2`))
		if res.Completed == nil {
			t.Fatal("no engine.run.completed read")
		}
	}
	if after := count(); after != before {
		t.Errorf("%d descriptors open after 20 runs, %d before", after, before)
	}
}
