// Package operator holds the commands an operator runs beside the worker:
// the demo (a fresh database, the examples queued, a worker draining them,
// a table) and the queue's status.
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// DemoRow is one example run in the demo's table.
type DemoRow struct {
	Input        string
	RunID        string
	Status       string
	Rows         int64
	MappedFields []string
	OutputPath   string
	Error        string
}

// Demo migrates a fresh SQLite database under <data dir>/demo, enqueues every
// file of examples/inputs against examples/config-package as the API would,
// processes them with the reference engine, and prints a table. It returns
// an error unless every run succeeded.
//
// A demo on a machine that cannot build the environment says in one line
// what is missing (Python, its venv module, a package index) instead of
// printing the table: it checks the interpreter before it starts, and tries
// the build once rather than ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS times.
func Demo(ctx context.Context, cfg config.Config, examples string, environ []string, out io.Writer, log *slog.Logger) ([]DemoRow, error) {
	files, err := demoInputs(examples)
	if err != nil {
		return nil, err
	}
	if err := checkPython(ctx, cfg.Python, environ); err != nil {
		return nil, err
	}
	st, layout, err := openFreshDemo(ctx, &cfg, out)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	names := map[string]string{}
	for _, f := range files {
		e, err := enqueue.Insert(ctx, st, layout, enqueue.Request{EngineSpec: cfg.EnginePackagePath, MaxAttempts: cfg.MaxAttemptsDefault},
			enqueue.Request{WorkspaceID: "demo", ConfigDir: filepath.Join(examples, "config-package"), InputFile: f})
		if err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", f, err)
		}
		names[e.RunID] = filepath.Base(f)
		fmt.Fprintf(out, "queued %-14s run %s\n", filepath.Base(f), e.RunID)
	}
	fmt.Fprintf(out, "processing with the reference engine (%s); the first run builds its virtual environment...\n", cfg.EnginePackagePath)
	cfg.EnvBuildMaxAttempts = 1
	w, err := app.New(cfg, st, app.Options{Logger: log, Environ: environ})
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := w.Run(ctx, app.RunOptions{Drain: true}); err != nil {
		return nil, err
	}
	rows, err := demoRows(ctx, st, names)
	if err != nil {
		return nil, err
	}
	if err := buildFailure(rows, environ, layout); err != nil {
		return rows, err
	}
	fmt.Fprintf(out, "\nfinished in %.1fs\n\n", time.Since(started).Seconds())
	return rows, printDemoTable(out, rows, layout)
}

// demoInputs lists the CSV and XLSX files under <examples>/inputs.
func demoInputs(examples string) ([]string, error) {
	inputs, _ := filepath.Glob(filepath.Join(examples, "inputs", "*.*"))
	var files []string
	for _, f := range inputs {
		if ext := strings.ToLower(filepath.Ext(f)); ext == ".csv" || ext == ".xlsx" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no example inputs under %s: run the demo from the repository root", filepath.Join(examples, "inputs"))
	}
	return files, nil
}

// openFreshDemo empties <data dir>/demo, points cfg at it, and opens and
// migrates a new SQLite database there.
func openFreshDemo(ctx context.Context, cfg *config.Config, out io.Writer) (*store.Store, paths.Layout, error) {
	demoDir := filepath.Join(cfg.DataDir, "demo")
	for _, sub := range []string{"db", "workspaces", "venvs"} {
		if err := os.RemoveAll(filepath.Join(demoDir, sub)); err != nil {
			return nil, paths.Layout{}, fmt.Errorf("empty the demo folder: %w", err)
		}
	}
	cfg.DataDir = demoDir
	cfg.DatabaseURL = "sqlite:///" + filepath.ToSlash(filepath.Join(demoDir, "db", "ade.sqlite"))
	cfg.EnableGC = false
	layout, err := paths.New(demoDir)
	if err != nil {
		return nil, paths.Layout{}, err
	}
	fmt.Fprintf(out, "ade-worker demo: fresh SQLite database %s\n", layout.DBPath())
	o := cfg.StoreOptions()
	o.DataDir, o.Create = demoDir, true
	st, err := store.Open(ctx, cfg.DatabaseURL, o)
	if err != nil {
		return nil, paths.Layout{}, err
	}
	if _, err := st.MigrateUp(ctx); err != nil {
		st.Close()
		return nil, paths.Layout{}, fmt.Errorf("migrate the demo database: %w", err)
	}
	return st, layout, nil
}

// demoRows reads the outcome of each run, sorted by input name.
func demoRows(ctx context.Context, st *store.Store, names map[string]string) ([]DemoRow, error) {
	var rows []DemoRow
	q := st.Queries()
	for id, input := range names {
		r, err := q.GetRun(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read run %s: %w", id, err)
		}
		row := DemoRow{Input: input, RunID: id, Status: r.Status, OutputPath: r.OutputPath.String, Error: r.ErrorMessage.String}
		if m, err := q.GetRunMetrics(ctx, id); err == nil {
			row.Rows = m.RowCountTotal.Int64
		}
		fields, _ := q.ListRunFields(ctx, id)
		for _, f := range fields {
			if f.Detected {
				row.MappedFields = append(row.MappedFields, f.Field)
			}
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Input < rows[j].Input })
	return rows, nil
}

// printDemoTable prints the table of runs; it returns an error unless every
// run succeeded.
func printDemoTable(out io.Writer, rows []DemoRow, layout paths.Layout) error {
	allOK := true
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INPUT\tRUN\tSTATUS\tROWS\tMAPPED FIELDS\tOUTPUT")
	for _, r := range rows {
		output := r.OutputPath
		if r.Status != "succeeded" {
			allOK = false
			output = r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d (%s)\t%s\n", r.Input, r.RunID[:8], r.Status, r.Rows, len(r.MappedFields), strings.Join(r.MappedFields, ", "), output)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nrun folders (input, output, logs/events.ndjson): %s\n", filepath.Join(layout.DataDir, "workspaces", "demo", "runs"))
	if !allOK {
		return errors.New("some example runs did not succeed; see the table and the runs' logs/events.ndjson")
	}
	return nil
}
