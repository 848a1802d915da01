package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/envbuild"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/runopts"
)

// runOutcome is how one attempt of a run ended, before it is written.
type runOutcome struct {
	succeeded bool
	// retryable failures go back to the queue while attempts remain; the
	// rest (bad options, unsafe paths) fail at once, since a retry would
	// meet the same input.
	retryable bool
	// release gives the run back without spending its attempt.
	release bool
	// stopped is set when the job's cancellation interrupted the attempt:
	// the engine was stopped, or never started. Only such an attempt is
	// released at shutdown; one that ended by itself is recorded.
	stopped    bool
	requeueEnv bool
	exitCode   *int
	err        string
	summary    *results.Summary
	outputPath string
	engineCPU  time.Duration
	engineWall time.Duration
}

// exitParam is the engine's exit code as the outcome statements take it
// (NULL when the engine never exited).
func (o runOutcome) exitParam() sql.NullInt64 {
	if o.exitCode == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*o.exitCode), Valid: true}
}

func failed(retryable bool, format string, args ...any) runOutcome {
	return runOutcome{retryable: retryable, err: fmt.Sprintf(format, args...)}
}

// processRun is the job of one claimed run. It gives its slot back
// (freeSlot) once the engine has ended, before writing the outcome.
func (w *Worker) processRun(parent context.Context, run claimedRun, freeSlot func()) {
	started := time.Now()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	log := w.log.With(slog.String("run_id", run.ID), slog.String("workspace_id", run.WorkspaceID),
		slog.String("environment_id", run.env.ID), slog.Int64("attempt", run.AttemptCount))

	// Heartbeats start before anything else: an earlier job of this run may
	// take a moment to stop (jobs.begin), and the new claim must not lapse
	// meanwhile.
	defer w.keepLease(ctx, cancel, log, "run", run.claimedAt, func(hctx context.Context) (int64, error) {
		return w.st.Queries().HeartbeatRun(hctx, db.HeartbeatRunParams{Now: nowParam, LeaseSeconds: w.cfg.Lease.Seconds(), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID)})
	})()
	defer w.jobs.begin("run:"+run.ID, cancel, log)()

	rp, pathErr := w.layout.Run(run.WorkspaceID, run.ID)
	var folderErr error
	if pathErr == nil {
		folderErr = makeRunFolder(rp)
	}
	var ev *eventlog.Log
	if pathErr == nil && folderErr == nil {
		var err error
		ev, err = eventlog.Open(rp.Events, map[string]string{
			"run_id": run.ID, "workspace_id": run.WorkspaceID,
			"configuration_id": run.ConfigurationID, "environment_id": run.env.ID,
		})
		if err != nil {
			log.Warn("cannot open the run's event log; continuing without it", slog.String("error", err.Error()))
		}
	}
	defer ev.Close()
	ev.Emit("info", "run.start", "run started", map[string]any{
		"attempt": run.AttemptCount, "max_attempts": run.MaxAttempts, "worker_id": w.cfg.WorkerID,
	})
	log.Info("run started")

	var out runOutcome
	func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("run job panicked", slog.Any("panic", p))
				out = failed(true, "internal error in the worker: %v", p)
			}
		}()
		switch {
		case pathErr != nil:
			out = failed(false, "%v", pathErr)
		case folderErr != nil:
			out = failed(true, "create run folder: %v", folderErr)
		default:
			out = w.execute(ctx, run, rp, ev, log)
		}
	}()
	freeSlot()
	w.finishRun(ctx, run, out, ev, log, time.Since(started))
}

// execute does the work of one attempt and says how it ended. It writes no
// row: finishRun does, fenced on the claim.
func (w *Worker) execute(ctx context.Context, run claimedRun, rp paths.RunPaths, ev *eventlog.Log, log *slog.Logger) runOutcome {
	opts, err := runopts.Parse(run.RunOptions.String, run.InputSheetNames.String)
	if err != nil {
		return failed(false, "invalid run options: %v", err)
	}
	if !opts.LogLevelSet {
		opts.LogLevel = engineLogLevel(w.cfg.LogLevel)
	}
	if opts.DryRun {
		ev.Emit("info", "run.dry_run", "dry run: the engine is not invoked", nil)
		return runOutcome{succeeded: true}
	}
	interpreter := run.env.PythonInterpreter.String
	if err := envbuild.Usable(interpreter); err != nil {
		// The environment's folder vanished (GC, a wiped disk): rebuild it
		// once and give the run back without spending its attempt.
		log.Warn("environment interpreter is gone; rebuilding the environment", slog.String("error", err.Error()))
		ev.Emit("warning", "run.environment_missing", "environment interpreter is missing; the environment will be rebuilt", map[string]any{"error": err.Error()})
		return runOutcome{release: true, requeueEnv: true, err: "environment interpreter missing: " + err.Error()}
	}
	configDir, err := w.layout.ConfigPackageDir(run.WorkspaceID, run.ConfigurationID)
	if err != nil {
		return failed(false, "%v", err)
	}
	if st, err := os.Stat(configDir); err != nil || !st.IsDir() {
		return failed(false, "configuration package missing: %s", configDir)
	}
	spec := engine.Spec{
		Path:    interpreter,
		Dir:     rp.Dir,
		Env:     w.engineEnv,
		Timeout: w.cfg.RunTimeout,
		Log:     ev,
		Scope:   "run",
	}
	if opts.ValidateOnly {
		spec.Args = opts.ValidateArgs(configDir)
	} else {
		if run.doc == nil {
			return failed(false, "document %s not found in workspace %s", run.InputDocumentID, run.WorkspaceID)
		}
		src, err := w.layout.OpenDocument(run.WorkspaceID, run.doc.StoredUri)
		if err != nil {
			// A missing file may still be on its way (the API writes the row
			// and the file separately); an unsafe path never becomes safe.
			return failed(errors.Is(err, paths.ErrNotFound), "input document: %v", err)
		}
		// A copy, never a link: the engine must not be able to change the
		// stored document. It is written in place: the engine starts only
		// once it is whole, and a retry writes it again.
		staged := rp.StagedInput(run.doc.OriginalFilename)
		if err := writeCopy(src, staged); err != nil {
			return failed(true, "stage input document: %v", err)
		}
		spec.Args = opts.ProcessArgs(staged, rp.Output, configDir)
	}
	ev.Emit("info", "run.engine.start", "engine started", map[string]any{"args": spec.Args})

	res, err := engine.Run(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			return runOutcome{stopped: true, err: "stopped before the engine started: " + context.Cause(ctx).Error()}
		}
		return failed(true, "start engine: %v", err)
	}
	out := runOutcome{engineCPU: res.UserCPU + res.SysCPU, engineWall: res.Duration}
	code := res.ExitCode
	out.exitCode = &code
	switch {
	case res.Canceled:
		out.stopped = true
		out.err = "stopped: " + context.Cause(ctx).Error()
		return out
	case res.TimedOut:
		out.retryable = true
		out.err = fmt.Sprintf("timed out after %s; the engine's process group was stopped", w.cfg.RunTimeout)
		return out
	}
	var summary *results.Summary
	c := res.Completed
	reported := c != nil && (c.Scope == "" || c.Scope == "run") && len(c.Data) > 0
	if reported {
		s, err := results.Parse(c.Data)
		if err != nil {
			ev.Emit("warning", "run.summary_invalid", "engine.run.completed data is not a JSON object; no results recorded", map[string]any{"error": err.Error()})
		} else {
			summary = &s
		}
	}
	if res.ExitCode != 0 {
		out.retryable = true
		out.err = engineError(res, summary)
		return out
	}
	out.succeeded = true
	if opts.ValidateOnly {
		return out
	}
	if !reported {
		// The run still succeeds on its output, but its results are
		// missing, not empty: say so. A summary longer than the engine
		// line limit arrives cut and is never seen as an event.
		ev.Emit("warning", "run.summary_missing", "the engine printed no engine.run.completed event (or one longer than the line limit); no results recorded",
			map[string]any{"max_summary_line_bytes": engine.DefaultMaxSummaryLine})
		log.Warn("engine printed no run summary; no results recorded")
	}
	out.summary = summary
	out.outputPath = w.outputPath(rp, summary, ev)
	return out
}

// makeRunFolder makes the run folder with its input/, logs/ and output/
// folders, output/ empty. A folder new to this attempt costs four mkdirs
// (its parents, once per workspace); one an earlier attempt left keeps its
// input and logs, and its output is cleared: nothing of an earlier attempt
// can be mistaken for this one's output.
func makeRunFolder(rp paths.RunPaths) error {
	err := os.Mkdir(rp.Dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(rp.Dir), 0o755); err != nil {
			return err
		}
		err = os.Mkdir(rp.Dir, 0o755)
	}
	if err == nil {
		for _, dir := range []string{rp.Input, rp.Logs, rp.Output} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, dir := range []string{rp.Input, rp.Logs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(rp.Output); err != nil {
		return fmt.Errorf("clear output folder: %w", err)
	}
	return os.Mkdir(rp.Output, 0o755)
}

// engineError is a readable reason for a failed engine: its own error when
// it reported one, else the last lines it printed on stderr.
func engineError(res engine.Result, s *results.Summary) string {
	head := fmt.Sprintf("engine exited with code %d", res.ExitCode)
	if res.Signal != "" {
		head = "engine was killed by " + res.Signal
	}
	if s != nil && s.Error != "" {
		return head + ": " + s.Error
	}
	if len(res.Tail) > 0 {
		tail := strings.Join(res.Tail, "\n")
		if len(tail) > 2000 {
			tail = "…" + tail[len(tail)-2000:]
		}
		return head + ": " + tail
	}
	return head
}

// outputPath is outputs.normalized.path relative to the run folder when it
// lies inside it, else the first file under output/.
func (w *Worker) outputPath(rp paths.RunPaths, s *results.Summary, ev *eventlog.Log) string {
	if s != nil && s.NormalizedPath != "" {
		rel, err := paths.SafeJoinInside(rp.Dir, s.NormalizedPath)
		if err == nil {
			return rel
		}
		ev.Emit("warning", "run.output_path_rejected", "outputs.normalized.path is not inside the run folder; ignored", map[string]any{"path": s.NormalizedPath, "error": err.Error()})
	}
	var files []string
	_ = filepath.WalkDir(rp.Output, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) == 0 {
		return ""
	}
	rel, err := filepath.Rel(rp.Dir, files[0])
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// finishRun writes the attempt's outcome, fenced on the claim, retrying
// while the database is unreachable, and records run.complete/run.retry.
func (w *Worker) finishRun(ctx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	cause := context.Cause(ctx)
	if errors.Is(cause, errLeaseLost) {
		w.metrics.RunsFinished.WithLabelValues("lost").Inc()
		ev.Emit("warning", "run.lost", "claim lost; this worker stopped the engine and wrote nothing", nil)
		log.Warn("run abandoned: claim lost")
		return
	}
	// The job's own context may be cancelled (shutdown); the ack must still
	// go out, so it gets a context of its own.
	actx := context.WithoutCancel(ctx)
	// A shutdown gives the run back only when it interrupted the attempt:
	// an engine that ended by itself (its output may have stayed open past
	// the grace) has an outcome to record, and a release would run it again.
	if (errors.Is(cause, errShutdown) && out.stopped) || out.release {
		release := func(q *db.Queries) (int64, error) {
			// The run first, then its environment: every transaction locks
			// runs before environments, so none can deadlock with a claim.
			n, err := q.ReleaseRun(actx, db.ReleaseRunParams{Now: nowParam, ID: run.ID, WorkerID: nsv(w.cfg.WorkerID)})
			if err != nil || n == 0 || !out.requeueEnv {
				return n, err
			}
			if _, err := q.RequeueEnvironment(actx, db.RequeueEnvironmentParams{ErrorMessage: nullStr(out.err), Now: nowParam, ID: run.env.ID}); err != nil {
				return 0, err
			}
			return n, nil
		}
		// A release that requeues the environment locks an environment, so
		// it goes alone (see ackBatcher); a plain release is batched.
		var n int64
		var err error
		if out.requeueEnv {
			n, err = w.ackAlone(actx, log, release)
		} else {
			n, err = w.ackRun(actx, log, 0, release)
		}
		if !w.afterAck(n, err, "released", log) {
			// The claim was gone (or the write failed): nothing was released.
			return
		}
		reason := "worker shutting down"
		if out.release {
			reason = out.err
		}
		ev.Emit("info", "run.released", "run released without spending its attempt", map[string]any{"reason": reason})
		log.Info("run released without spending its attempt", slog.String("reason", reason))
		return
	}

	// engine_wall_us keeps the precision a short engine's time needs (the
	// bench subtracts it from the run's wall time).
	execMs := map[string]any{"wall_ms": wall.Milliseconds(), "engine_wall_ms": out.engineWall.Milliseconds(),
		"engine_wall_us": out.engineWall.Microseconds(), "engine_cpu_ms": out.engineCPU.Milliseconds()}

	if out.succeeded {
		n, err := w.ackRun(actx, log, resultRows(out.summary), w.succeededAck(actx, run, out))
		if w.afterAck(n, err, "succeeded", log) {
			w.metrics.RunDuration.WithLabelValues("succeeded").Observe(wall.Seconds())
			ev.Emit("info", "run.complete", "run succeeded", map[string]any{
				"status": "succeeded", "exit_code": out.exitCode, "output_path": out.outputPath, "execution": execMs, "error": nil,
			})
			log.Info("run succeeded", slog.Duration("wall", wall), slog.String("output_path", out.outputPath))
		}
		return
	}

	var row db.FailRunRow
	n, err := w.ackRun(actx, log, 0, func(q *db.Queries) (int64, error) {
		r, err := q.FailRun(actx, db.FailRunParams{
			Retryable: out.retryable, Now: nowParam,
			BackoffMaxSeconds: w.cfg.BackoffMax.Seconds(), BackoffBaseSeconds: w.cfg.BackoffBase.Seconds(),
			ExitCode: out.exitParam(), ErrorMessage: nullStr(out.err), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID),
		})
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		row = r
		return 1, err
	})
	outcome := "failed"
	if row.Status == "queued" {
		outcome = "retried"
	}
	if !w.afterAck(n, err, outcome, log) {
		return
	}
	w.metrics.RunDuration.WithLabelValues(outcome).Observe(wall.Seconds())
	if outcome == "retried" {
		ev.Emit("warning", "run.retry", "run failed; it will be retried", map[string]any{
			"attempt": row.AttemptCount, "max_attempts": row.MaxAttempts, "available_at": row.AvailableAt.String(),
			"exit_code": out.exitCode, "error": out.err,
		})
		log.Warn("run failed; retrying later", slog.String("error", out.err), slog.String("available_at", row.AvailableAt.String()))
		return
	}
	ev.Emit("error", "run.complete", "run failed", map[string]any{
		"status": "failed", "exit_code": out.exitCode, "error": out.err, "execution": execMs, "output_path": nil,
	})
	log.Error("run failed", slog.String("error", out.err), slog.Int64("attempts", row.AttemptCount))
}

// succeededAck is the ack of a succeeded run: the fenced CompleteRun, then
// (only if it changed the row) the replace of the run's results. The
// results are encoded here, before the ack waits for the write lock.
func (w *Worker) succeededAck(ctx context.Context, run claimedRun, out runOutcome) func(q *db.Queries) (int64, error) {
	exit := out.exitParam()
	res, encErr := encodeResults(run.ID, out.summary)
	return func(q *db.Queries) (int64, error) {
		if encErr != nil {
			return 0, encErr
		}
		n, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: nowParam, ExitCode: exit, OutputPath: nullStr(out.outputPath), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID)})
		if err != nil || n == 0 {
			return n, err
		}
		return n, writeResults(ctx, q, run.ID, res)
	}
}

// resultRows is the number of rows writeResults inserts for s.
func resultRows(s *results.Summary) int {
	if s == nil {
		return 0
	}
	n := len(s.Fields) + len(s.Columns)
	if s.Metrics != nil {
		n++
	}
	return n
}

var errFenced = errors.New("fenced write changed no row")

// afterAck counts the outcome and reports whether the write took effect.
func (w *Worker) afterAck(n int64, err error, outcome string, log *slog.Logger) bool {
	switch {
	case err != nil:
		log.Error("could not record the run's outcome; its lease will expire and it will run again", slog.String("error", err.Error()))
		return false
	case n == 0:
		w.metrics.LostClaims.WithLabelValues("run").Inc()
		w.metrics.RunsFinished.WithLabelValues("lost").Inc()
		log.Warn("claim lost before the outcome was written; nothing recorded", slog.String("outcome", outcome))
		return false
	}
	w.metrics.RunsFinished.WithLabelValues(outcome).Inc()
	return true
}

// columnChunk bounds the rows of one results insert, keeping each statement
// under SQL Server's lock-escalation threshold.
const columnChunk = 1000

// encodedResults are a summary's rows as the insert statements take them:
// fields and columns as JSON arrays, unpacked by the database (json_each on
// SQLite, OPENJSON on SQL Server), one statement per chunk.
type encodedResults struct {
	metrics *db.InsertRunMetricsParams
	fields  []string // JSON arrays of at most columnChunk rows each
	columns []string // JSON arrays of at most columnChunk rows
}

// encodeResults encodes s's rows for writeResults (nil s: none).
func encodeResults(runID string, s *results.Summary) (encodedResults, error) {
	var e encodedResults
	if s == nil {
		return e, nil
	}
	if s.Metrics != nil {
		p := metricsParams(runID, s.Metrics)
		e.metrics = &p
	}
	var err error
	e.fields, err = encodeChunks(s.Fields, func(f results.Field) fieldJSON {
		return fieldJSON{f.Field, f.Label, f.Detected, f.BestMappingScore, f.OccurrencesTables, f.OccurrencesColumns}
	})
	if err != nil {
		return e, err
	}
	e.columns, err = encodeChunks(s.Columns, func(c results.Column) columnJSON {
		return columnJSON{c.WorkbookIndex, c.WorkbookName, c.SheetIndex, c.SheetName, c.TableIndex, c.ColumnIndex,
			c.HeaderRaw, c.HeaderNormalized, c.NonEmptyCells, c.MappingStatus, c.MappedField, c.MappingScore,
			c.MappingMethod, c.UnmappedReason}
	})
	if err != nil {
		return e, err
	}
	return e, nil
}

// encodeChunks encodes items as JSON arrays of at most columnChunk rows each.
func encodeChunks[T, R any](items []T, row func(T) R) ([]string, error) {
	var chunks []string
	for start := 0; start < len(items); start += columnChunk {
		chunk := items[start:min(start+columnChunk, len(items))]
		rows := make([]R, len(chunk))
		for i, it := range chunk {
			rows[i] = row(it)
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, string(b))
	}
	return chunks, nil
}

// writeResults replaces the run's metrics, fields and table columns.
func writeResults(ctx context.Context, q *db.Queries, runID string, e encodedResults) error {
	if err := q.DeleteRunMetrics(ctx, runID); err != nil {
		return fmt.Errorf("delete run_metrics: %w", err)
	}
	if err := q.DeleteRunFields(ctx, runID); err != nil {
		return fmt.Errorf("delete run_fields: %w", err)
	}
	if err := q.DeleteRunTableColumns(ctx, runID); err != nil {
		return fmt.Errorf("delete run_table_columns: %w", err)
	}
	if e.metrics != nil {
		if err := q.InsertRunMetrics(ctx, *e.metrics); err != nil {
			return fmt.Errorf("insert run_metrics: %w", err)
		}
	}
	for _, fields := range e.fields {
		if err := q.InsertRunFields(ctx, db.InsertRunFieldsParams{RunID: runID, Fields: fields}); err != nil {
			return fmt.Errorf("insert run_fields: %w", err)
		}
	}
	for _, cols := range e.columns {
		if err := q.InsertRunTableColumns(ctx, db.InsertRunTableColumnsParams{RunID: runID, Columns: cols}); err != nil {
			return fmt.Errorf("insert run_table_columns: %w", err)
		}
	}
	return nil
}

// fieldJSON and columnJSON are one row of the JSON array the insert
// statements unpack (json_each on SQLite, OPENJSON on SQL Server); the keys
// are the column names.
type fieldJSON struct {
	Field              string   `json:"field"`
	Label              *string  `json:"label"`
	Detected           bool     `json:"detected"`
	BestMappingScore   *float64 `json:"best_mapping_score"`
	OccurrencesTables  int64    `json:"occurrences_tables"`
	OccurrencesColumns int64    `json:"occurrences_columns"`
}

type columnJSON struct {
	WorkbookIndex    int64    `json:"workbook_index"`
	WorkbookName     *string  `json:"workbook_name"`
	SheetIndex       int64    `json:"sheet_index"`
	SheetName        *string  `json:"sheet_name"`
	TableIndex       int64    `json:"table_index"`
	ColumnIndex      int64    `json:"column_index"`
	HeaderRaw        *string  `json:"header_raw"`
	HeaderNormalized *string  `json:"header_normalized"`
	NonEmptyCells    int64    `json:"non_empty_cells"`
	MappingStatus    string   `json:"mapping_status"`
	MappedField      *string  `json:"mapped_field"`
	MappingScore     *float64 `json:"mapping_score"`
	MappingMethod    *string  `json:"mapping_method"`
	UnmappedReason   *string  `json:"unmapped_reason"`
}

func metricsParams(runID string, m *results.Metrics) db.InsertRunMetricsParams {
	return db.InsertRunMetricsParams{
		RunID:                     runID,
		EvaluationOutcome:         str(m.EvaluationOutcome),
		EvaluationFindingsTotal:   i64(m.EvaluationFindingsTotal),
		EvaluationFindingsInfo:    i64(m.EvaluationFindingsInfo),
		EvaluationFindingsWarning: i64(m.EvaluationFindingsWarning),
		EvaluationFindingsError:   i64(m.EvaluationFindingsError),
		ValidationIssuesTotal:     i64(m.ValidationIssuesTotal),
		ValidationIssuesInfo:      i64(m.ValidationIssuesInfo),
		ValidationIssuesWarning:   i64(m.ValidationIssuesWarning),
		ValidationIssuesError:     i64(m.ValidationIssuesError),
		ValidationMaxSeverity:     str(m.ValidationMaxSeverity),
		WorkbookCount:             i64(m.WorkbookCount),
		SheetCount:                i64(m.SheetCount),
		TableCount:                i64(m.TableCount),
		RowCountTotal:             i64(m.RowCountTotal),
		RowCountEmpty:             i64(m.RowCountEmpty),
		ColumnCountTotal:          i64(m.ColumnCountTotal),
		ColumnCountEmpty:          i64(m.ColumnCountEmpty),
		ColumnCountMapped:         i64(m.ColumnCountMapped),
		ColumnCountUnmapped:       i64(m.ColumnCountUnmapped),
		FieldCountExpected:        i64(m.FieldCountExpected),
		FieldCountDetected:        i64(m.FieldCountDetected),
		FieldCountNotDetected:     i64(m.FieldCountNotDetected),
		CellCountTotal:            i64(m.CellCountTotal),
		CellCountNonEmpty:         i64(m.CellCountNonEmpty),
	}
}

func str(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func f64(p *float64) sql.NullFloat64 {
	if p == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *p, Valid: true}
}

func i64(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

// writeCopy copies the open file in to dst, in place, and closes in. A
// link at dst (one an earlier attempt's engine left at a staged input) is
// replaced, never followed.
func writeCopy(in *os.File, dst string) error {
	defer in.Close()
	const flags = os.O_CREATE | os.O_TRUNC | os.O_WRONLY | syscall.O_NOFOLLOW
	out, err := os.OpenFile(dst, flags, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		if err = os.Remove(dst); err == nil {
			out, err = os.OpenFile(dst, flags, 0o644)
		}
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// engineLogLevel is the engine's --log-level for the worker's own level: a
// run that names no level logs as verbosely as the worker that runs it.
func engineLogLevel(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}
