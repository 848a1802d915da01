package fdpoll

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipe returns a pipe whose read end is in Go's poller.
func pipe(t *testing.T) (*os.File, syscall.RawConn, *os.File) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	t.Cleanup(func() { r.Close(); w.Close() })
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return r, rc, w
}

func TestUntilWaitsForTheCheck(t *testing.T) {
	_, rc, w := pipe(t)
	tries := 0
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("x"))
	}()
	err := Until(rc, func(fd int) (bool, error) {
		tries++
		if tries == 1 {
			return false, unix.EINTR // counts as not done
		}
		var b [1]byte
		n, err := unix.Read(fd, b[:])
		if errors.Is(err, unix.EAGAIN) {
			return false, nil
		}
		return n == 1, err
	})
	if err != nil {
		t.Fatalf("Until = %v", err)
	}
	// The EINTR parks the goroutine like "not done"; the write wakes it.
	if tries != 2 {
		t.Errorf("try ran %d times; want the first and one after the write", tries)
	}
}

func TestUntilReturnsTheCheckError(t *testing.T) {
	_, rc, _ := pipe(t)
	want := errors.New("broken")
	if err := Until(rc, func(int) (bool, error) { return false, want }); !errors.Is(err, want) {
		t.Fatalf("Until = %v, want %v", err, want)
	}
}

func TestUntilEndsAtTheDeadline(t *testing.T) {
	r, rc, _ := pipe(t)
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	err := Until(rc, func(int) (bool, error) { return false, nil })
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Until = %v, want the deadline", err)
	}
}
