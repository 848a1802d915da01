package engine

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestChildSurvivesThreadChurn runs children while other goroutines retire
// OS threads. A child forked from a thread that goes back to the scheduler's
// pool dies of its parent-death signal as soon as such a retirement takes
// that thread; forking from a thread locked until the reap prevents it.
func TestChildSurvivesThreadChurn(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	var churn sync.WaitGroup
	for range 4 {
		churn.Add(1)
		go func() {
			defer churn.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					// Exiting while locked makes the runtime end the thread.
					runtime.LockOSThread()
					close(done)
				}()
				<-done
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(t, sh("sleep 1; exit 7"))
		}()
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	for i, res := range results {
		if res.ExitCode != 7 || res.Signal != "" {
			t.Errorf("child %d: %+v; want it to run to its end", i, res)
		}
	}
}

// Every descriptor a run opens (two pipes, the process's pidfd) is closed
// when Run returns.
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
