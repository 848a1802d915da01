package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlc-dev/plugin-sdk-go/plugin"
	"google.golang.org/protobuf/encoding/protojson"
)

// fixture is the fixture project: sqlc.yaml, its SQL, and request.json, the
// GenerateRequest sqlc v1.31.1 sent the plugin for it.
const fixture = "../../testdata/good"

// exampleDB is where sqlc and the plugin wrote the fixture's gen/db.
const exampleDB = "../../internal/exampledb"

func recordedRequest(t *testing.T) *plugin.GenerateRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture, "request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req plugin.GenerateRequest
	if err := protojson.Unmarshal(raw, &req); err != nil {
		t.Fatalf("read recorded request: %v", err)
	}
	return &req
}

func TestGenerateFromRecordedRequest(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(exampleDB, "mssql.sql.go"))
	if err != nil {
		t.Fatal(err)
	}
	req := recordedRequest(t)
	t.Chdir(fixture)
	resp, err := generate(context.Background(), req)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if len(resp.Files) != 1 || resp.Files[0].Name != "mssql.sql.go" {
		t.Fatalf("files %v, want only mssql.sql.go", resp.Files)
	}
	if !bytes.Equal(resp.Files[0].Contents, want) {
		t.Errorf("generated file differs from %s/mssql.sql.go:\n%s", exampleDB, resp.Files[0].Contents)
	}
}

func TestGenerateRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(*plugin.GenerateRequest)
		dir    string
		want   string
	}{
		{
			name:   "no twins option",
			change: func(r *plugin.GenerateRequest) { r.PluginOptions = []byte(`{}`) },
			want:   `"twins" (the folder of T-SQL twin files) is required`,
		},
		{
			name: "unknown option",
			change: func(r *plugin.GenerateRequest) {
				r.PluginOptions = []byte(`{"twins": "sql/queries/mssql", "twin": "x"}`)
			},
			want: `read sqlc-gen-twins options: json: unknown field "twin"`,
		},
		{
			name:   "twin folder missing",
			change: func(r *plugin.GenerateRequest) { r.PluginOptions = []byte(`{"twins": "sql/queries/tsql"}`) },
			want:   "read T-SQL twins:\nlist sql/queries/tsql:",
		},
		{
			name: "run from elsewhere",
			dir:  "sql",
			want: "where sql/queries/sqlite is missing: run sqlc from the folder holding sqlc.yaml",
		},
		{
			name: "query without twin",
			change: func(r *plugin.GenerateRequest) {
				r.Queries = append(r.Queries, &plugin.Query{Name: "ForgetRun", Cmd: ":exec", Filename: "runs.sql"})
			},
			want: "bind T-SQL twins in sql/queries/mssql:\nsql/queries/sqlite/runs.sql: ForgetRun: has no T-SQL twin",
		},
		{
			name: "columns from sqlc",
			change: func(r *plugin.GenerateRequest) {
				for _, q := range r.Queries {
					if q.Name == "CountRuns" {
						q.Columns[0].Name = "n"
					}
				}
			},
			want: "sql/queries/mssql/runs.sql:36: CountRuns: returns columns (total) but the generated method scans (n)",
		},
		{
			name: "embedded table",
			change: func(r *plugin.GenerateRequest) {
				for _, q := range r.Queries {
					if q.Name == "ListDueRuns" {
						q.Columns[0].EmbedTable = &plugin.Identifier{Name: "runs"}
					}
				}
			},
			want: "sql/queries/sqlite/runs.sql: ListDueRuns: sqlc.embed(runs) is not supported: list the columns",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := recordedRequest(t)
			if c.change != nil {
				c.change(req)
			}
			t.Chdir(filepath.Join(fixture, c.dir))
			_, err := generate(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestSqlcEndToEnd runs the real sqlc with the plugin on a copy of the
// fixture project. It needs the sqlc binary: set SQLC to its path or put it
// on PATH (the project pins it in tools/go.mod).
func TestSqlcEndToEnd(t *testing.T) {
	sqlc := os.Getenv("SQLC")
	if sqlc == "" {
		var err error
		if sqlc, err = exec.LookPath("sqlc"); err != nil {
			t.Skip("sqlc not found: set SQLC or put sqlc on PATH to run the plugin end to end")
		}
	}
	want, err := os.ReadFile(filepath.Join(exampleDB, "mssql.sql.go"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(work, "bin", "sqlc-gen-twins"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	if err := os.CopyFS(filepath.Join(work, "sql"), os.DirFS(filepath.Join(fixture, "sql"))); err != nil {
		t.Fatal(err)
	}
	config := `version: "2"
plugins:
  - name: twins
    process:
      cmd: ./bin/sqlc-gen-twins
sql:
  - engine: sqlite
    schema: sql/schema/sqlite
    queries: sql/queries/sqlite
    gen:
      go: {package: db, out: gen/db}
    codegen:
      - plugin: twins
        out: gen/db
        options: {twins: sql/queries/mssql}
`
	if err := os.WriteFile(filepath.Join(work, "sqlc.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		cmd := exec.Command(sqlc, "generate")
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("sqlc generate: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(work, "gen", "db", "mssql.sql.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("sqlc with the plugin wrote a different mssql.sql.go:\n%s", got)
	}

	// A twin that leaves out a parameter stops sqlc, naming file and query.
	twinFile := filepath.Join(work, "sql", "queries", "mssql", "runs.sql")
	src, err := os.ReadFile(twinFile)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "AND claimed_by = @worker_id;", ";", 1)
	if err := os.WriteFile(twinFile, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run()
	if err == nil {
		t.Fatalf("sqlc generate succeeded with a broken twin:\n%s", out)
	}
	if wantMsg := "sql/queries/mssql/runs.sql:22: HeartbeatRun: leaves out @worker_id (parameter 4 of the SQLite query)"; !strings.Contains(out, wantMsg) {
		t.Errorf("sqlc said:\n%s\nwant it to contain %q", out, wantMsg)
	}
}
