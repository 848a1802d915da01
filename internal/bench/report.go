package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Result is one bench invocation, written as JSON beside the table.
type Result struct {
	Engine       string    `json:"engine"` // "reference" or "noop"
	EngineDetail string    `json:"engine_detail"`
	Database     string    `json:"database"`
	Runs         int       `json:"runs"`
	Concurrency  int       `json:"concurrency"`
	CPUs         int       `json:"cpus"`
	GoVersion    string    `json:"go_version"`
	StartedAt    time.Time `json:"started_at"`
	// LoadAverage is /proc/loadavg when the bench started: other work on
	// the machine skews every figure.
	LoadAverage string `json:"load_average"`
	WorkDir     string `json:"work_dir"`

	Worker WorkerResult `json:"worker"`
	Ideal  IdealResult  `json:"ideal"`
	// Ratio is the worker's throughput as a fraction of the ideal's.
	Ratio float64 `json:"throughput_ratio"`
	// RoundRatios is the same ratio round by round (ideal time over worker
	// time): their spread shows how much other load on the machine moved
	// the figure.
	RoundRatios []float64    `json:"round_ratios"`
	Idle        IdleResult   `json:"idle"`
	Memory      MemoryResult `json:"memory"`
	// WorkerExitCode is the worker's exit code after SIGTERM (0 is clean).
	WorkerExitCode int `json:"worker_exit_code"`
	// Rounds is how many worker batches and direct-run rounds alternated.
	Rounds int `json:"rounds"`

	batchCompletions []time.Time
	roundElapsed     []time.Duration
}

// WorkerResult is the throughput phase: Runs enqueued into an idle worker,
// Rounds batches of one transaction each.
type WorkerResult struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// ElapsedS is the sum over the rounds of the time from a batch's commit
	// (its latest created_at) to its last completed_at.
	ElapsedS   float64 `json:"elapsed_s"`
	Throughput float64 `json:"throughput_runs_per_s"`
	// Pickup is started_at - created_at: under a backlog, mostly the wait
	// for a free slot.
	Pickup Dist `json:"pickup"`
	// EndToEnd is completed_at - created_at.
	EndToEnd Dist `json:"end_to_end"`
	// RunWall is completed_at - started_at: claim to ack.
	RunWall Dist `json:"run_wall"`
	// EngineWall is the engine process's wall time, start to exit, as the
	// worker recorded it in run.complete.
	EngineWall Dist `json:"engine_wall"`
	// Overhead is RunWall - EngineWall per run: everything the worker does
	// for a run besides waiting for its engine.
	Overhead Dist `json:"overhead"`
	// Handoff is the time a slot stays empty: from a run's ack to the claim
	// of the run that takes its slot.
	Handoff Dist `json:"handoff"`
	// Statements is what the worker sent to the database during the phase
	// (BEGIN and COMMIT count), idle wake-up reads included.
	Statements       int64   `json:"statements"`
	StatementsPerRun float64 `json:"statements_per_run"`
	// CPUPerRunMs is the worker process's own CPU time (user+system, its
	// engines not included) per run.
	CPUPerRunMs float64 `json:"cpu_per_run_ms"`
	// UserCPUPerRunMs and SystemCPUPerRunMs split it (from /proc/<pid>/stat,
	// at its 10 ms resolution over the whole phase): system time is the
	// kernel's work for the worker, most of it the run folders' file system
	// calls and the engines' spawning.
	UserCPUPerRunMs   float64 `json:"user_cpu_per_run_ms"`
	SystemCPUPerRunMs float64 `json:"system_cpu_per_run_ms"`
}

// IdleResult is the idle worker: what it costs the database, and how fast
// it picks up a run enqueued out of the blue.
type IdleResult struct {
	WindowS float64 `json:"window_s"`
	// StatementsPerS is the idle worker's statements per second.
	StatementsPerS float64 `json:"statements_per_s"`
	CPUPercent     float64 `json:"cpu_percent"`
	Runs           int     `json:"runs"`
	Pickup         Dist    `json:"pickup"`
	EndToEnd       Dist    `json:"end_to_end"`
}

// MemoryResult is the worker process's memory over the throughput phase.
type MemoryResult struct {
	// PeakMiB is VmHWM at the end: the highest resident set of the
	// worker's whole life (environment build and warm-up included).
	PeakMiB   float64 `json:"peak_mib"`
	BeforeMiB float64 `json:"before_mib"`
	AfterMiB  float64 `json:"after_mib"`
	// SlopeKiBPer1kRuns is the least-squares growth of the resident set
	// over the second half of the phase: about 0 when nothing leaks.
	SlopeKiBPer1kRuns float64 `json:"slope_kib_per_1k_runs"`
	// Samples is the resident set against runs completed (at most 40).
	Samples          []MemorySample `json:"samples"`
	GoroutinesBefore int            `json:"goroutines_before"`
	GoroutinesAfter  int            `json:"goroutines_after"`
	HeapInuseMiB     [2]float64     `json:"heap_inuse_mib_before_after"`
}

// MemorySample is the worker's resident set once Runs had completed.
type MemorySample struct {
	Runs   int     `json:"runs"`
	RSSMiB float64 `json:"rss_mib"`
}

// analyseRounds reads the rounds' rows and run logs into res.Worker. Each
// round's elapsed time runs from its batch's commit (its latest created_at)
// to its last completed_at; throughput is all runs over their sum.
func analyseRounds(ctx context.Context, st *store.Store, layout paths.Layout, rounds [][]string, c int, res *Result) error {
	var (
		pickup, e2e, wall, eng, over, handoff []time.Duration
		all                                   []time.Time
		elapsed                               time.Duration
		runs                                  int
	)
	for _, ids := range rounds {
		var starts, ends []time.Time
		var lastCreated time.Time
		for _, id := range ids {
			r, err := st.Queries().GetRun(ctx, id)
			if err != nil {
				return fmt.Errorf("read run %s: %w", id, err)
			}
			if r.CreatedAt.After(lastCreated) {
				lastCreated = r.CreatedAt.Time
			}
			if r.Status == "succeeded" {
				res.Worker.Succeeded++
			} else {
				res.Worker.Failed++
			}
			if !r.StartedAt.Valid || !r.CompletedAt.Valid {
				continue
			}
			started, completed := r.StartedAt.Time.Time, r.CompletedAt.Time.Time
			starts = append(starts, started)
			ends = append(ends, completed)
			pickup = append(pickup, started.Sub(r.CreatedAt.Time))
			e2e = append(e2e, completed.Sub(r.CreatedAt.Time))
			wall = append(wall, completed.Sub(started))
			ev, err := readRunEvents(runLog(layout, id))
			if err != nil || !ev.complete {
				continue
			}
			eng = append(eng, ev.engineWall())
			over = append(over, completed.Sub(started)-ev.engineWall())
		}
		if len(ends) == 0 {
			continue
		}
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		slices.SortFunc(ends, func(a, b time.Time) int { return a.Compare(b) })
		// With a backlog every ack frees a slot that the next claim fills:
		// the k-th completion's slot is taken by the (k+c)-th start.
		for k := 0; k+c < len(starts) && k < len(ends); k++ {
			handoff = append(handoff, starts[k+c].Sub(ends[k]))
		}
		elapsed += ends[len(ends)-1].Sub(lastCreated)
		res.roundElapsed = append(res.roundElapsed, ends[len(ends)-1].Sub(lastCreated))
		runs += len(ids)
		all = append(all, ends...)
	}
	if res.Worker.Failed > 0 {
		return fmt.Errorf("%d of %d runs failed; see their events.ndjson under %s", res.Worker.Failed, runs,
			filepath.Join(layout.DataDir, "workspaces", workspace, "runs"))
	}
	if elapsed <= 0 {
		return errors.New("no run completed")
	}
	res.Worker.ElapsedS = round3(elapsed.Seconds())
	res.Worker.Throughput = round3(float64(runs) / elapsed.Seconds())
	res.Worker.Pickup = distOf(pickup)
	res.Worker.EndToEnd = distOf(e2e)
	res.Worker.RunWall = distOf(wall)
	res.Worker.EngineWall = distOf(eng)
	res.Worker.Overhead = distOf(over)
	res.Worker.Handoff = distOf(handoff)
	slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
	res.batchCompletions = all
	return nil
}

// memoryResult places each RSS sample against the runs completed by then.
func memoryResult(samples []rssSample, completions []time.Time, before, after, hwm int64, m0, m1 map[string]float64) MemoryResult {
	mib := func(kib int64) float64 { return round3(float64(kib) / 1024) }
	out := MemoryResult{
		PeakMiB: mib(hwm), BeforeMiB: mib(before), AfterMiB: mib(after),
		GoroutinesBefore: int(m0[goroutinesMetric]), GoroutinesAfter: int(m1[goroutinesMetric]),
		HeapInuseMiB: [2]float64{round3(m0[heapMetric] / (1 << 20)), round3(m1[heapMetric] / (1 << 20))},
	}
	var xs, ys []float64
	all := make([]MemorySample, 0, len(samples))
	for _, s := range samples {
		done, _ := slices.BinarySearchFunc(completions, s.at, func(a, b time.Time) int { return a.Compare(b) })
		all = append(all, MemorySample{Runs: done, RSSMiB: mib(s.kib)})
		if len(completions) > 0 && done >= len(completions)/2 && done < len(completions) {
			xs = append(xs, float64(done)/1000)
			ys = append(ys, float64(s.kib))
		}
	}
	out.SlopeKiBPer1kRuns = round3(slope(xs, ys))
	step := max(1, (len(all)+39)/40)
	for i := 0; i < len(all); i += step {
		out.Samples = append(out.Samples, all[i])
	}
	if n := len(all); n > 0 && (n-1)%step != 0 {
		out.Samples = append(out.Samples, all[n-1])
	}
	return out
}

// WriteJSON writes r to path, creating its folder.
func (r *Result) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints r for people.
func (r *Result) WriteTable(out io.Writer) {
	fmt.Fprintf(out, "\nade-bench: %s engine, %d runs, concurrency %d, SQLite, %d CPUs, load %s\n",
		r.Engine, r.Runs, r.Concurrency, r.CPUs, r.LoadAverage)
	fmt.Fprintf(out, "engine: %s\n\n", r.EngineDetail)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	w := r.Worker
	fmt.Fprintf(tw, "throughput\t%.2f runs/s\t(%d runs in %.2fs)\n", w.Throughput, w.Succeeded, w.ElapsedS)
	fmt.Fprintf(tw, "engine-bound ideal\t%.2f runs/s\t(same engine command run directly, %d at a time, %.2fs)\n", r.Ideal.Throughput, r.Ideal.Concurrency, r.Ideal.ElapsedS)
	fmt.Fprintf(tw, "\t\t(%d rounds, worker batch then direct runs, alternating)\n", r.Rounds)
	fmt.Fprintf(tw, "achieved\t%.1f%% of ideal\t%s\n", 100*r.Ratio, spread(r.RoundRatios))
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "latency (ms)\tp50 / p95 / p99 / max\t")
	row := func(name string, d Dist, note string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, fmtDist(d), note)
	}
	row("pickup", w.Pickup, fmt.Sprintf("queued -> running, %d runs queued at once", r.Runs/max(r.Rounds, 1)))
	row("end-to-end", w.EndToEnd, "queued -> done")
	row("run wall", w.RunWall, "claim -> ack")
	row("engine wall", w.EngineWall, "the engine process, under the worker")
	row("engine wall, direct", r.Ideal.EngineWall, "the engine process, run directly")
	row("worker overhead", w.Overhead, fmt.Sprintf("run wall - engine wall (mean %.2f ms)", w.Overhead.Mean))
	row("slot handoff", w.Handoff, "a run's ack -> the claim that fills its slot")
	row("idle pickup", r.Idle.Pickup, fmt.Sprintf("queued -> running, %d runs into an idle worker", r.Idle.Runs))
	row("idle end-to-end", r.Idle.EndToEnd, "queued -> done, same runs")
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintf(tw, "statements per run\t%.2f\t(%d in the phase, BEGIN/COMMIT and wake-up reads included)\n", w.StatementsPerRun, w.Statements)
	fmt.Fprintf(tw, "worker CPU per run\t%.2f ms\t(user %.2f + system %.2f; the worker process alone, engines not included)\n", w.CPUPerRunMs, w.UserCPUPerRunMs, w.SystemCPUPerRunMs)
	fmt.Fprintf(tw, "idle worker\t%.1f statements/s\t(%.1f%% CPU, over %.0fs)\n", r.Idle.StatementsPerS, r.Idle.CPUPercent, r.Idle.WindowS)
	m := r.Memory
	fmt.Fprintf(tw, "worker RSS\tpeak %.1f MiB\t(%.1f before the batch, %.1f after; %+.0f KiB per 1000 runs over its second half)\n", m.PeakMiB, m.BeforeMiB, m.AfterMiB, m.SlopeKiBPer1kRuns)
	fmt.Fprintf(tw, "goroutines\t%d -> %d\t(before and after the batch; heap in use %.1f -> %.1f MiB)\n", m.GoroutinesBefore, m.GoroutinesAfter, m.HeapInuseMiB[0], m.HeapInuseMiB[1])
	tw.Flush()
}

// spread describes the per-round ratios.
func spread(ratios []float64) string {
	if len(ratios) < 2 {
		return ""
	}
	s := slices.Clone(ratios)
	slices.Sort(s)
	return fmt.Sprintf("(rounds: min %.1f%%, median %.1f%%, max %.1f%%)", 100*s[0], 100*s[len(s)/2], 100*s[len(s)-1])
}

func fmtDist(d Dist) string {
	if d.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s / %s", num(d.P50), num(d.P95), num(d.P99), num(d.Max))
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
