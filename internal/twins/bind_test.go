package twins

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureQueries reads the fixture SQLite queries the way the static tests
// read the repository's, and adds the result columns sqlc reports for them
// (the plugin gets those from sqlc; TestPluginGenerate covers that path).
func fixtureQueries(t *testing.T) []Query {
	t.Helper()
	queries, err := ReadSQLiteQueries("testdata/good/sql/queries/sqlite", "internal/exampledb")
	if err != nil {
		t.Fatalf("read fixture queries: %v", err)
	}
	columns := map[string][]string{
		"ClaimRun":    {"id", "workspace_id", "attempt_count"},
		"ListDueRuns": {"id", "workspace_id", "available_at"},
		"CountRuns":   {"total"},
	}
	for i := range queries {
		queries[i].Columns = columns[queries[i].Name]
	}
	return queries
}

func TestBindGoodFixture(t *testing.T) {
	twins, err := ReadDir("testdata/good/sql/queries/mssql")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := Bind(context.Background(), fixtureQueries(t), twins)
	if err != nil {
		t.Fatalf("bind good fixture: %v", err)
	}
	var names []string
	sql := map[string]string{}
	for _, b := range bound {
		names = append(names, b.Query.Name)
		sql[b.Query.Name] = b.SQL
	}
	want := []string{"AcquireLock", "ClaimRun", "CountRuns", "DeleteRunFields", "HeartbeatRun", "ListDueRuns"}
	if !slices.Equal(names, want) {
		t.Fatalf("bound %v, want %v (sorted by name)", names, want)
	}

	// now is used twice and is one parameter; the SQLite query numbers it 1
	// in HeartbeatRun and 2 in ClaimRun, and the twin follows each.
	if got, want := sql["HeartbeatRun"], `-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = DATEADD(SECOND, @p2, COALESCE(CAST(@p1 AS DATETIME2), SYSUTCDATETIME()))
WHERE id = @p3 AND status = N'running' AND claimed_by = @p4;`; got != want {
		t.Errorf("HeartbeatRun bound to\n%s\nwant\n%s", got, want)
	}
	claim := sql["ClaimRun"]
	if strings.Count(claim, "CAST(@p2 AS DATETIME2)") != 2 || !strings.Contains(claim, "claimed_by = @p1") || !strings.Contains(claim, "DATEADD(SECOND, @p3,") {
		t.Errorf("ClaimRun bound to\n%s", claim)
	}
	// Strings, quoted identifiers and comments keep their @ text.
	if got, want := sql["CountRuns"], "-- name: CountRuns :one\nSELECT COUNT_BIG(*) AS total FROM runs WHERE status = @p1 AND N'@status' <> [@status];"; got != want {
		t.Errorf("CountRuns bound to\n%s\nwant\n%s", got, want)
	}
	// Locals, @@ROWCOUNT and procedure argument names are not parameters.
	del := sql["DeleteRunFields"]
	for _, keep := range []string{"DECLARE @deleted INT = 1;", "SET @deleted = @@ROWCOUNT;", "@deleted is a local variable", "run_id = @p1;"} {
		if !strings.Contains(del, keep) {
			t.Errorf("DeleteRunFields bound text lacks %q:\n%s", keep, del)
		}
	}
	lock := sql["AcquireLock"]
	for _, keep := range []string{"EXEC @result = sp_getapplock", "@Resource = N'fixture:lock'", "@LockTimeout = @p1;"} {
		if !strings.Contains(lock, keep) {
			t.Errorf("AcquireLock bound text lacks %q:\n%s", keep, lock)
		}
	}
}

// TestBindFailures runs every case in testdata/bind. A case is a twin file
// whose leading comments say which queries to bind it against ("-- queries:
// A, B"; by default those its twins name) and every message binding must
// give ("-- want: ..."), each matched as a substring of one reported error.
// A case with no want line must bind cleanly.
func TestBindFailures(t *testing.T) {
	files, err := filepath.Glob("testdata/bind/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bind cases: %v", err)
	}
	all := fixtureQueries(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".sql"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants, only := caseDirectives(src)
			twins, err := ParseFile(file, src)
			if err == nil {
				if only == nil {
					for _, tw := range twins {
						only = append(only, tw.Name)
					}
				}
				var queries []Query
				for _, q := range all {
					if slices.Contains(only, q.Name) {
						queries = append(queries, q)
					}
				}
				_, err = Bind(context.Background(), queries, twins)
			}
			assertErrors(t, err, wants)
		})
	}
}

// caseDirectives reads the "-- want:" and "-- queries:" lines of a case.
func caseDirectives(src []byte) (wants, queries []string) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if w, ok := strings.CutPrefix(line, "-- want: "); ok {
			wants = append(wants, w)
		}
		if q, ok := strings.CutPrefix(line, "-- queries: "); ok {
			for _, name := range strings.Split(q, ",") {
				queries = append(queries, strings.TrimSpace(name))
			}
		}
	}
	return wants, queries
}

// assertErrors checks that err is an ErrorList with one error per want, each
// want a substring of its error, in the list's (sorted) order or any order.
func assertErrors(t *testing.T, err error, wants []string) {
	t.Helper()
	if len(wants) == 0 {
		if err != nil {
			t.Fatalf("want no error, got:\n%v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want errors %q, got none", wants)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %T: %v", err, err)
	}
	if len(list) != len(wants) {
		t.Errorf("got %d errors, want %d:\n%v", len(list), len(wants), err)
	}
	for _, w := range wants {
		if !slices.ContainsFunc(list, func(e *Error) bool { return strings.Contains(e.Error(), w) }) {
			t.Errorf("no error contains %q; got:\n%v", w, err)
		}
	}
}

func TestBindOneRefusesWhatATwinCannotMirror(t *testing.T) {
	twin := Twin{Name: "Q", File: "q.sql", Line: 1, BodyLine: 2, Text: "SELECT 1 AS one;"}
	cases := []struct {
		name  string
		query Query
		cmd   string
		want  string
	}{
		{
			name:  "execlastid",
			query: Query{Name: "Q", Cmd: ":execlastid", File: "s.sql"},
			cmd:   ":execlastid",
			want:  "q.sql:1: Q: :execlastid is not supported for SQL Server twins (go-mssqldb has no LastInsertId: return the key with OUTPUT as :one)",
		},
		{
			name:  "anonymous",
			query: Query{Name: "Q", Cmd: ":exec", File: "s.sql", Params: []Param{{Number: 1, Name: "id", Anonymous: true}}},
			cmd:   ":exec",
			want:  "s.sql: Q: parameter 1 is an anonymous ?: write it as @name or sqlc.arg(name) so its twin binds by name",
		},
		{
			name:  "slice",
			query: Query{Name: "Q", Cmd: ":exec", File: "s.sql", Params: []Param{{Number: 1, Name: "ids", Slice: true}}},
			cmd:   ":exec",
			want:  "s.sql: Q: sqlc.slice(ids) cannot be mirrored in T-SQL: sqlc expands it at run time",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tw := twin
			tw.Cmd = c.cmd
			_, errs := BindOne(context.Background(), c.query, tw)
			if !slices.ContainsFunc(errs, func(e *Error) bool { return e.Error() == c.want }) {
				t.Errorf("got %v, want an error %q", errs, c.want)
			}
		})
	}
}

func TestBindQueryNamedTwice(t *testing.T) {
	q := Query{Name: "CountRuns", Cmd: ":one", File: "a.sql", Const: "countRuns", Columns: []string{"total"}}
	twin := Twin{Name: "CountRuns", Cmd: ":one", File: "t.sql", Line: 1, BodyLine: 2, Text: "SELECT 1 AS total;"}
	_, err := Bind(context.Background(), []Query{q, q}, []Twin{twin})
	assertErrors(t, err, []string{"a.sql: CountRuns: two SQLite queries have this name"})
}
