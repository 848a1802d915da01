package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a database/sql driver that records every statement it is
// given and answers with no rows.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	query string
	args  []any
}

func (r *recorder) record(query string, args []driver.NamedValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	values := make([]any, len(args))
	for i, a := range args {
		values[i] = a.Value
	}
	r.calls = append(r.calls, call{query: query, args: values})
}

func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) Connect(context.Context) (driver.Conn, error) { return recConn{r}, nil }
func (r *recorder) Driver() driver.Driver                        { return nil }

type recConn struct{ r *recorder }

func (c recConn) Prepare(query string) (driver.Stmt, error) { return recStmt{c.r, query}, nil }
func (c recConn) Close() error                              { return nil }
func (c recConn) Begin() (driver.Tx, error)                 { return recTx{}, nil }

func (c recConn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.r.record(query, args)
	return driver.RowsAffected(1), nil
}

func (c recConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.r.record(query, args)
	return noRows{}, nil
}

type recStmt struct {
	r     *recorder
	query string
}

func (s recStmt) Close() error  { return nil }
func (s recStmt) NumInput() int { return -1 }
func (s recStmt) Exec([]driver.Value) (driver.Result, error) {
	s.r.record(s.query, nil)
	return driver.RowsAffected(1), nil
}
func (s recStmt) Query([]driver.Value) (driver.Rows, error) {
	s.r.record(s.query, nil)
	return noRows{}, nil
}

type recTx struct{}

func (recTx) Commit() error   { return nil }
func (recTx) Rollback() error { return nil }

type noRows struct{}

func (noRows) Columns() []string         { return []string{"x"} }
func (noRows) Close() error              { return nil }
func (noRows) Next([]driver.Value) error { return io.EOF }

func open(t *testing.T) (*sql.DB, *recorder) {
	t.Helper()
	rec := &recorder{}
	db := sql.OpenDB(rec)
	t.Cleanup(func() { db.Close() })
	return db, rec
}

func TestNewMSSQLSendsTheBoundTwin(t *testing.T) {
	ctx := context.Background()
	db, rec := open(t)
	q := NewMSSQL(db)

	worker := sql.NullString{String: "w1", Valid: true}
	if _, err := q.ClaimRun(ctx, ClaimRunParams{WorkerID: worker, Now: "2025-01-02 03:04:05.000000", LeaseSeconds: 900}); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("ClaimRun: %v, want sql.ErrNoRows from the empty result", err)
	}
	if _, err := q.HeartbeatRun(ctx, HeartbeatRunParams{Now: nil, LeaseSeconds: 60, ID: "r1", WorkerID: worker}); err != nil {
		t.Fatalf("HeartbeatRun: %v", err)
	}
	if _, err := q.ListDueRuns(ctx, ListDueRunsParams{WorkspaceID: "ws", DueBefore: "2025-01-01", MaxRows: 10}); err != nil {
		t.Fatalf("ListDueRuns: %v", err)
	}
	if err := q.AcquireLock(ctx, 5000); err != nil {
		t.Fatalf("AcquireLock: %v", err)
	}

	twins := MSSQLQueries()
	want := []call{
		{twins["ClaimRun"], []any{"w1", "2025-01-02 03:04:05.000000", int64(900)}},
		{twins["HeartbeatRun"], []any{nil, int64(60), "r1", "w1"}},
		{twins["ListDueRuns"], []any{"ws", "2025-01-01", int64(10)}},
		{twins["AcquireLock"], []any{int64(5000)}},
	}
	got := rec.Calls()
	if len(got) != len(want) {
		t.Fatalf("driver got %d statements, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i].query != want[i].query {
			t.Errorf("statement %d:\n%s\nwant\n%s", i, got[i].query, want[i].query)
		}
		if !slices.Equal(got[i].args, want[i].args) {
			t.Errorf("statement %d args %v, want %v", i, got[i].args, want[i].args)
		}
		if strings.Contains(got[i].query, "?") {
			t.Errorf("statement %d carries SQLite placeholders:\n%s", i, got[i].query)
		}
	}
	// Each argument lands on the @pN of its position in the method's call.
	if !strings.Contains(twins["HeartbeatRun"], "WHERE id = @p3 AND status = N'running' AND claimed_by = @p4;") {
		t.Errorf("HeartbeatRun twin:\n%s", twins["HeartbeatRun"])
	}
}

func TestQueriesMapsCoverEveryQuery(t *testing.T) {
	mssql, sqlite := MSSQLQueries(), SQLiteQueries()
	want := []string{"AcquireLock", "ClaimRun", "CountRuns", "DeleteRunFields", "HeartbeatRun", "ListDueRuns"}
	for _, m := range []map[string]string{mssql, sqlite} {
		var names []string
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("queries %v, want %v", names, want)
		}
	}
	if sqlite["CountRuns"] != countRuns {
		t.Errorf("SQLiteQueries()[CountRuns] = %q, want the generated constant", sqlite["CountRuns"])
	}
	for name, text := range mssql {
		if !strings.HasPrefix(text, "-- name: "+name+" :") {
			t.Errorf("%s: T-SQL text does not start with its name line:\n%s", name, text)
		}
	}
	// The maps are copies: a caller cannot change what the binding sends.
	mssql["CountRuns"] = "DROP TABLE runs"
	if MSSQLQueries()["CountRuns"] == "DROP TABLE runs" {
		t.Error("MSSQLQueries returned the binding's own map")
	}
}

func TestNoTwinNeverReachesTheServer(t *testing.T) {
	ctx := context.Background()
	db, rec := open(t)
	c := mssqlConn{conn: db}
	const sqliteText = "-- name: Unknown :one\nSELECT ?1"

	var n int
	err := c.QueryRowContext(ctx, sqliteText, 1).Scan(&n)
	if !errors.Is(err, ErrNoMSSQLTwin) || !strings.Contains(err.Error(), "Unknown :one") {
		t.Errorf("QueryRowContext: %v, want ErrNoMSSQLTwin naming the query", err)
	}
	if _, err := c.ExecContext(ctx, sqliteText, 1); !errors.Is(err, ErrNoMSSQLTwin) {
		t.Errorf("ExecContext: %v, want ErrNoMSSQLTwin", err)
	}
	if _, err := c.QueryContext(ctx, sqliteText, 1); !errors.Is(err, ErrNoMSSQLTwin) {
		t.Errorf("QueryContext: %v, want ErrNoMSSQLTwin", err)
	}
	if _, err := c.PrepareContext(ctx, sqliteText); !errors.Is(err, ErrNoMSSQLTwin) {
		t.Errorf("PrepareContext: %v, want ErrNoMSSQLTwin", err)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = mssqlConn{conn: tx}.QueryRowContext(ctx, "SELECT 1").Scan(&n)
	if !errors.Is(err, ErrNoMSSQLTwin) || !strings.Contains(err.Error(), `query "SELECT 1"`) {
		t.Errorf("QueryRowContext in a transaction: %v, want ErrNoMSSQLTwin quoting the text", err)
	}
	if calls := rec.Calls(); len(calls) != 0 {
		t.Errorf("the driver was sent %q", calls)
	}

	// *sql.Conn does not check the context before it runs a statement: the
	// driver gets the failing stand-in, never the SQLite text.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = mssqlConn{conn: conn}.QueryRowContext(ctx, sqliteText, 1).Scan(&n)
	if err == nil {
		t.Error("QueryRowContext on a *sql.Conn: no error")
	}
	if calls := rec.Calls(); len(calls) != 1 || calls[0].query != mssqlNoTwinText {
		t.Errorf("the driver was sent %q, want only the failing stand-in", calls)
	}
}

func TestWithDialectTxKeepsTheDialect(t *testing.T) {
	ctx := context.Background()
	db, rec := open(t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	if err := NewMSSQL(db).WithDialectTx(tx).DeleteRunFields(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := New(db).WithDialectTx(tx).DeleteRunFields(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 2 || calls[0].query != MSSQLQueries()["DeleteRunFields"] || calls[1].query != deleteRunFields {
		t.Errorf("got %q, want the T-SQL twin then the SQLite text", calls)
	}
}

// NewMSSQLWithArgs hands every statement's arguments, with the query's
// parameter names in argument order, to the converter, and sends what it
// returns; a Queries made for a transaction keeps the converter.
func TestNewMSSQLWithArgsConvertsEveryStatement(t *testing.T) {
	ctx := context.Background()
	db, rec := open(t)
	var seen [][]string
	convert := func(params []string, args []interface{}) []interface{} {
		seen = append(seen, params)
		out := make([]interface{}, len(args))
		for i, a := range args {
			out[i] = fmt.Sprintf("%s=%v", params[i], a)
		}
		return out
	}
	q := NewMSSQLWithArgs(db, convert)
	worker := sql.NullString{String: "w1", Valid: true}
	if _, err := q.HeartbeatRun(ctx, HeartbeatRunParams{Now: nil, LeaseSeconds: 60, ID: "r1", WorkerID: worker}); err != nil {
		t.Fatalf("HeartbeatRun: %v", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := q.WithDialectTx(tx).AcquireLock(ctx, 5000); err != nil {
		t.Fatalf("AcquireLock in a transaction: %v", err)
	}

	wantParams := [][]string{{"now", "lease_seconds", "id", "worker_id"}, {"timeout_ms"}}
	if !slices.EqualFunc(seen, wantParams, slices.Equal[[]string]) {
		t.Fatalf("converter saw parameters %q, want %q", seen, wantParams)
	}
	if got := MSSQLParams()["HeartbeatRun"]; !slices.Equal(got, wantParams[0]) {
		t.Errorf("MSSQLParams()[HeartbeatRun] = %q, want %q", got, wantParams[0])
	}
	calls := rec.Calls()
	want := [][]any{{"now=<nil>", "lease_seconds=60", "id=r1", "worker_id={w1 true}"}, {"timeout_ms=5000"}}
	if len(calls) != len(want) {
		t.Fatalf("driver got %d statements, want %d", len(calls), len(want))
	}
	for i := range want {
		if !slices.Equal(calls[i].args, want[i]) {
			t.Errorf("statement %d sent %v, want the converted %v", i, calls[i].args, want[i])
		}
	}
}
