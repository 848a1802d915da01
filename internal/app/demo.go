package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// systemWheels is where Debian's python3-*-whl packages put wheels; pip can
// build the reference engine from them with no package index.
const systemWheels = "/usr/share/python-wheels"

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
func Demo(ctx context.Context, cfg config.Config, examples string, environ []string, out io.Writer, log *slog.Logger) ([]DemoRow, error) {
	inputs, _ := filepath.Glob(filepath.Join(examples, "inputs", "*.*"))
	var files []string
	for _, f := range inputs {
		if ext := strings.ToLower(filepath.Ext(f)); ext == ".csv" || ext == ".xlsx" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	configDir := filepath.Join(examples, "config-package")
	if len(files) == 0 {
		return nil, fmt.Errorf("no example inputs under %s: run the demo from the repository root", filepath.Join(examples, "inputs"))
	}

	demoDir := filepath.Join(cfg.DataDir, "demo")
	for _, sub := range []string{"db", "workspaces", "venvs"} {
		if err := os.RemoveAll(filepath.Join(demoDir, sub)); err != nil {
			return nil, err
		}
	}
	cfg.DataDir = demoDir
	cfg.DatabaseURL = "sqlite:///" + filepath.ToSlash(filepath.Join(demoDir, "db", "ade.sqlite"))
	cfg.EnableGC = false
	layout, err := paths.New(demoDir)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "ade-worker demo: fresh SQLite database %s\n", filepath.Join(layout.DataDir, "db", "ade.sqlite"))
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{DataDir: demoDir, Create: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return nil, err
	}

	environ = offlinePip(environ, out)
	names := map[string]string{}
	for _, f := range files {
		e, err := Enqueue(ctx, st, layout, EnqueueRequest{EngineSpec: cfg.EnginePackagePath, MaxAttempts: cfg.MaxAttemptsDefault},
			EnqueueRequest{WorkspaceID: "demo", ConfigDir: configDir, InputFile: f})
		if err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", f, err)
		}
		names[e.RunID] = filepath.Base(f)
		fmt.Fprintf(out, "queued %-14s run %s\n", filepath.Base(f), e.RunID)
	}
	fmt.Fprintf(out, "processing with the reference engine (%s); the first run builds its virtual environment...\n", cfg.EnginePackagePath)
	w, err := New(cfg, st, Options{Logger: log, Environ: environ})
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := w.Run(ctx, RunOptions{Drain: true}); err != nil {
		return nil, err
	}

	var rows []DemoRow
	allOK := true
	q := st.Queries()
	for id, input := range names {
		r, err := q.GetRun(ctx, id)
		if err != nil {
			return nil, err
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
		if r.Status != "succeeded" {
			allOK = false
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Input < rows[j].Input })
	fmt.Fprintf(out, "\nfinished in %.1fs\n\n", time.Since(started).Seconds())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INPUT\tRUN\tSTATUS\tROWS\tMAPPED FIELDS\tOUTPUT")
	for _, r := range rows {
		output := r.OutputPath
		if r.Status != "succeeded" {
			output = r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d (%s)\t%s\n", r.Input, r.RunID[:8], r.Status, r.Rows, len(r.MappedFields), strings.Join(r.MappedFields, ", "), output)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nrun folders (input, output, logs/events.ndjson): %s\n", filepath.Join(layout.DataDir, "workspaces", "demo", "runs"))
	if !allOK {
		return rows, fmt.Errorf("some example runs did not succeed; see the table and the runs' logs/events.ndjson")
	}
	return rows, nil
}

// offlinePip points pip at the system wheel folder when the operator chose
// no package index (neither PIP_INDEX_URL nor PIP_NO_INDEX) and that folder
// can build the engine (setuptools and wheel), so the demo works on a
// machine that cannot reach a package index. Links the operator gave are
// kept.
func offlinePip(environ []string, out io.Writer) []string {
	links := ""
	rest := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PIP_INDEX_URL", "PIP_NO_INDEX":
			return environ
		case "PIP_FIND_LINKS":
			links = v
			continue
		}
		rest = append(rest, kv)
	}
	st, _ := filepath.Glob(filepath.Join(systemWheels, "setuptools-*.whl"))
	wh, _ := filepath.Glob(filepath.Join(systemWheels, "wheel-*.whl"))
	if len(st) == 0 || len(wh) == 0 {
		return environ
	}
	fmt.Fprintf(out, "pip: no package index configured; building offline from %s (PIP_NO_INDEX=1)\n", systemWheels)
	return append(rest, "PIP_NO_INDEX=1", "PIP_FIND_LINKS="+strings.TrimSpace(links+" "+systemWheels))
}
