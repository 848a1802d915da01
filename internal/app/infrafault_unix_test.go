//go:build unix

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/apptest"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

func TestInfraFaultKinds(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		&fs.PathError{Op: "write", Path: "/data/x", Err: syscall.ENOSPC}:            "no_space",
		fmt.Errorf("stage: %w", &fs.PathError{Op: "open", Err: syscall.EDQUOT}):     "quota",
		&fs.PathError{Op: "mkdir", Err: syscall.EROFS}:                              "read_only",
		fmt.Errorf("create stdout pipe: %w", &os.SyscallError{Err: syscall.EMFILE}): "open_files",
		syscall.ENFILE: "open_files",
		&fs.PathError{Op: "open", Err: syscall.EACCES}: "",
		errors.New("no space left on device"):          "", // only the error itself counts, not its text
		nil:                                            "",
	} {
		if got := infraFault(err); got != want {
			t.Errorf("infraFault(%v) = %q, want %q", err, got, want)
		}
	}
}

// faultyFiles fails one kind of the run job's file work with err while
// full is set, as a full (or read-only, or over-quota) data folder would.
type faultyFiles struct {
	osFiles
	at   string // "folder", "events" or "stage"
	err  syscall.Errno
	full atomic.Bool
}

func (f *faultyFiles) fail(op, path string) error {
	return &fs.PathError{Op: op, Path: path, Err: f.err}
}

func (f *faultyFiles) makeRunFolder(rp paths.RunPaths) error {
	if f.full.Load() && f.at == "folder" {
		return f.fail("mkdir", rp.Dir)
	}
	return f.osFiles.makeRunFolder(rp)
}

func (f *faultyFiles) openEvents(path string, context map[string]string) (*eventlog.Log, error) {
	if f.full.Load() && f.at == "events" {
		return nil, f.fail("open", path)
	}
	return f.osFiles.openEvents(path, context)
}

func (f *faultyFiles) stage(src *os.File, dst string) error {
	if f.full.Load() && f.at == "stage" {
		src.Close()
		return f.fail("write", dst)
	}
	return f.osFiles.stage(src, dst)
}

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct{ apptest.LogBuffer }

// retryDelays are the retry_in of every "infrastructure fault" log record,
// in the order of the worker's count of consecutive faults: two runs
// deferred at once may log in the other order.
func (s *syncBuffer) retryDelays(t *testing.T) []time.Duration {
	type fault struct {
		streak int64
		delay  time.Duration
	}
	var faults []fault
	for _, line := range bytes.Split([]byte(s.String()), []byte("\n")) {
		var rec struct {
			Msg     string `json:"msg"`
			RetryIn int64  `json:"retry_in"`
			Streak  int64  `json:"consecutive_faults"`
		}
		if json.Unmarshal(line, &rec) == nil && strings.HasPrefix(rec.Msg, "infrastructure fault") {
			faults = append(faults, fault{rec.Streak, time.Duration(rec.RetryIn)})
		}
	}
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].streak < faults[j].streak })
	out := make([]time.Duration, len(faults))
	for i, f := range faults {
		out[i] = f.delay
	}
	return out
}

// TestInfrastructureFaultsDoNotSpendAttempts: while the data folder fails
// the run folder, the event log or the staging of the input with ENOSPC,
// EROFS or EDQUOT, every run is given back unspent (each has one attempt)
// and waits a backoff that grows to ADE_WORKER_BACKOFF_MAX_SECONDS; the
// metric counts the faults by kind and error_message says why the run
// waits. Once the folder takes writes again, every run succeeds on its
// first attempt.
func TestInfrastructureFaultsDoNotSpendAttempts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		at   string
		err  syscall.Errno
		kind string
	}{
		{"folder", syscall.EROFS, "read_only"},
		{"events", syscall.ENOSPC, "no_space"},
		{"stage", syscall.EDQUOT, "quota"},
	}
	for _, c := range cases {
		t.Run(c.at, func(t *testing.T) {
			t.Parallel()
			w, st, e := benchWorker(t, "/bin/true", "ADE_WORKER_BACKOFF_BASE_SECONDS=0.05", "ADE_WORKER_BACKOFF_MAX_SECONDS=0.4",
				"ADE_WORKER_POLL_INTERVAL=0.02", "ADE_WORKER_POLL_INTERVAL_MAX=0.05", "ADE_WORKER_LEASE_SECONDS=60")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := benchEnqueue(ctx, st, e, 3, false); err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			w.log = slog.New(slog.NewJSONHandler(logs, nil))
			ff := &faultyFiles{at: c.at, err: c.err}
			ff.full.Store(true)
			w.files = ff
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, RunOptions{}) }()

			faults := w.metrics.InfraFaults.WithLabelValues(c.kind)
			waitUntil(t, "12 faults", func() bool { return counter(faults) >= 12 })
			runs := listRuns(t, w)
			for _, r := range runs {
				if r.Status == "failed" || r.Status == "succeeded" || r.AttemptCount > 1 {
					t.Fatalf("run %s ended %s on attempt %d while the folder failed: %q", r.ID, r.Status, r.AttemptCount, r.ErrorMessage.String)
				}
				if r.Status == "queued" && (r.AttemptCount != 0 || !strings.Contains(r.ErrorMessage.String, c.err.Error())) {
					t.Errorf("queued run %s: attempt_count %d, error %q; want 0 and the fault", r.ID, r.AttemptCount, r.ErrorMessage.String)
				}
			}
			delays := logs.retryDelays(t)
			if len(delays) < 12 || delays[0] != 50*time.Millisecond || delays[len(delays)-1] != 400*time.Millisecond {
				t.Errorf("retry delays %v; want 50ms first, growing to the 400ms maximum", delays)
			}
			for i := 1; i < len(delays); i++ {
				if delays[i] < delays[i-1] {
					t.Errorf("retry delays %v shrink while the faults go on", delays)
					break
				}
			}

			ff.full.Store(false)
			waitUntil(t, "every run to succeed", func() bool {
				for _, r := range listRuns(t, w) {
					if r.Status != "succeeded" {
						return false
					}
				}
				return true
			})
			for _, r := range listRuns(t, w) {
				if r.AttemptCount != 1 || r.ErrorMessage.Valid {
					t.Errorf("run %s: attempt_count %d, error %q; want 1 and none", r.ID, r.AttemptCount, r.ErrorMessage.String)
				}
			}
			if w.faultStreak.Load() != 0 {
				t.Errorf("fault streak %d after runs staged their input again", w.faultStreak.Load())
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
