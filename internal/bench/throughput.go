package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// throughput accumulates the throughput phase, round by round.
type throughput struct {
	// ids are each round's runs.
	ids [][]string
	// first and last are the worker's metrics before the first round and
	// after the last.
	first, last map[string]float64
	// statements and cpu are the worker's statements and CPU seconds
	// (from /metrics) summed over the rounds, userCPU and systemCPU the
	// same CPU time split (from /proc).
	statements, cpu    float64
	userCPU, systemCPU time.Duration
	// idealStart is the first direct run of the next round.
	idealStart int
	// The worker's resident set: sampled during the phase, before and
	// after it, and its peak (KiB).
	samples                  []rssSample
	rssBefore, rssAfter, hwm int64
}

// measureThroughput measures throughput against the ideal, in interleaved
// rounds: a batch enqueued in one transaction into the idle worker, then,
// with the worker stopped (SIGSTOP), as many direct executions of the same
// engine command. Whatever else the machine does then weighs on both alike.
// It stops the worker at the end.
func (b *bench) measureThroughput(ctx context.Context) error {
	cmd, err := idealCommand(ctx, b.st, b.layout, b.warm, b.interp, b.environ)
	if err != nil {
		return err
	}
	ideal, err := prepareIdeal(ctx, cmd, filepath.Join(b.dir, "direct"), b.o.Runs, b.o.Concurrency)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.o.Progress, "bench: throughput: %d runs at concurrency %d in %d rounds, each followed by as many direct engine runs...\n",
		b.o.Runs, b.o.Concurrency, b.o.Rounds)
	var acc throughput
	acc.rssBefore, _, _ = b.w.memory()
	stopSampling := b.w.sampleRSS(200 * time.Millisecond)
	err = b.playRounds(ctx, ideal, &acc)
	acc.samples = stopSampling()
	if rerr := b.w.resume(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	if acc.rssAfter, acc.hwm, err = b.w.memory(); err != nil {
		return fmt.Errorf("read worker memory: %w", err)
	}
	code, err := b.w.stop(time.Minute)
	b.stopped = true
	if err != nil {
		return err
	}
	b.res.WorkerExitCode = code
	return b.summarise(ctx, ideal, &acc)
}

// playRounds alternates a worker round with as many direct engine runs,
// Options.Rounds times, the runs shared out as evenly as they go.
func (b *bench) playRounds(ctx context.Context, ideal *idealRunner, acc *throughput) error {
	timeout := 10*time.Minute + time.Duration(b.o.Runs)*time.Second
	for i := range b.o.Rounds {
		n := b.o.Runs / b.o.Rounds
		if i < b.o.Runs%b.o.Rounds {
			n++
		}
		if i > 0 {
			if err := b.w.resume(); err != nil {
				return err
			}
		}
		if err := b.workerRound(ctx, i, n, timeout, acc); err != nil {
			return err
		}
		if err := b.w.pause(); err != nil {
			return err
		}
		if err := ideal.round(ctx, acc.idealStart, n); err != nil {
			return err
		}
		acc.idealStart += n
	}
	return nil
}

// workerRound enqueues n runs in one transaction into the idle worker,
// waits until the queue is drained, and adds what the worker spent on them.
func (b *bench) workerRound(ctx context.Context, i, n int, timeout time.Duration, acc *throughput) error {
	before, err := b.w.scrape(ctx)
	if err != nil {
		return err
	}
	if acc.first == nil {
		acc.first = before
	}
	u0, s0, err := cpuTimes(b.w.cmd.Process.Pid)
	if err != nil {
		return err
	}
	ids, err := enqueueBatch(ctx, b.st, b.warm, b.engineSpec, n)
	if err != nil {
		return err
	}
	acc.ids = append(acc.ids, ids)
	if err := waitDrained(ctx, b.st, b.w, timeout); err != nil {
		return fmt.Errorf("throughput round %d: %w (worker log: %s)", i+1, err, b.logPath)
	}
	after, err := b.w.scrape(ctx)
	if err != nil {
		return err
	}
	acc.last = after
	acc.statements += after[statementsMetric] - before[statementsMetric]
	acc.cpu += after[cpuMetric] - before[cpuMetric]
	u1, s1, err := cpuTimes(b.w.cmd.Process.Pid)
	if err != nil {
		return err
	}
	acc.userCPU += u1 - u0
	acc.systemCPU += s1 - s0
	return nil
}

// summarise turns the rounds' rows, run logs and counters into the
// result's figures.
func (b *bench) summarise(ctx context.Context, ideal *idealRunner, acc *throughput) error {
	res := b.res
	if err := analyseRounds(ctx, b.st, b.layout, acc.ids, b.o.Concurrency, res); err != nil {
		return err
	}
	runs := float64(b.o.Runs)
	res.Rounds = b.o.Rounds
	res.Worker.Statements = int64(acc.statements)
	res.Worker.StatementsPerRun = round3(acc.statements / runs)
	res.Worker.CPUPerRunMs = round3(1000 * acc.cpu / runs)
	res.Worker.UserCPUPerRunMs = round3(float64(acc.userCPU.Microseconds()) / 1000 / runs)
	res.Worker.SystemCPUPerRunMs = round3(float64(acc.systemCPU.Microseconds()) / 1000 / runs)
	res.Memory = memoryResult(acc.samples, res.batchCompletions, acc.rssBefore, acc.rssAfter, acc.hwm, acc.first, acc.last)
	res.Ideal = ideal.result()
	if res.Ideal.Failed > 0 {
		return fmt.Errorf("%d of %d direct engine runs failed, first: %v", res.Ideal.Failed, b.o.Runs, ideal.firstErr)
	}
	if res.Ideal.Throughput > 0 {
		res.Ratio = round3(res.Worker.Throughput / res.Ideal.Throughput)
	}
	for i, we := range res.roundElapsed {
		if i < len(ideal.rounds) && we > 0 {
			res.RoundRatios = append(res.RoundRatios, round3(ideal.rounds[i].Seconds()/we.Seconds()))
		}
	}
	return nil
}
