package store_test

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

//go:embed testdata/raw_run_times.sql
var rawRunTimesSQL string

// tables lists the tables of the database of s, sorted.
func tables(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DB().Query(dialectSQL(t, s, "table_names"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestMigrationsUpDownUp(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaBehind) {
			t.Fatalf("fresh database: CheckSchema = %v, want ErrSchemaBehind", err)
		}
		applied, err := s.MigrateUp(ctx)
		if err != nil || len(applied) == 0 {
			t.Fatalf("up = %v, %v", applied, err)
		}
		want := []string{"configurations", "document_events", "documents", "environments", "goose_db_version",
			"run_fields", "run_metrics", "run_table_columns", "runs"}
		if got := tables(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("tables after up = %v\nwant %v", got, want)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after up: %v", err)
		}
		again, err := s.MigrateUp(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second up = %v, %v; want a no-op", again, err)
		}
		for {
			st, _ := s.SchemaStatus(ctx)
			if st.Current == 0 {
				break
			}
			if _, err := s.MigrateDown(ctx); err != nil {
				t.Fatalf("down: %v", err)
			}
		}
		if got := tables(t, s); !reflect.DeepEqual(got, []string{"goose_db_version"}) {
			t.Fatalf("tables after down = %v", got)
		}
		if _, err := s.MigrateDown(ctx); err == nil {
			t.Fatal("down past zero succeeded")
		}
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if got := tables(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("tables after up again = %v", got)
		}
	})
}

func TestMigrateRefusesDatabaseAheadOfBinary(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(dialectSQL(t, s, "schema_ahead")); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaAhead", err)
		}
		if _, err := s.MigrateUp(ctx); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("MigrateUp = %v, want ErrSchemaAhead", err)
		}
	})
}

// Five workers start together with ADE_WORKER_AUTO_CREATE_SCHEMA=1, each
// with its own connection pool: each migration is applied exactly once (a
// file lock on SQLite, sp_getapplock on SQL Server).
func TestConcurrentMigrateUpMigratesOnce(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, first *store.Store) {
		var wg sync.WaitGroup
		errs := make([]error, 5)
		applied := make([][]int64, 5)
		start := make(chan struct{})
		for i := range 5 {
			s := first
			if i > 0 {
				s = storetest.Reopen(t, first, storetest.MSSQLOptions)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				applied[i], errs[i] = s.MigrateUp(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		total := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("migrator %d: %v", i, err)
			}
			total += len(applied[i])
		}
		latest, err := first.SchemaStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if total != int(latest.Latest) || latest.Current != latest.Latest {
			t.Fatalf("migrations applied %d times in all, want each once (%d); now at %d", total, latest.Latest, latest.Current)
		}
	})
}

func TestTimestampsAreFixedWidthText(t *testing.T) {
	s := storetest.SQLite(t)
	enqueue(t, s, "run-1", keyA, 3, 1500*time.Millisecond)
	readyEnvs(t, s, 2*time.Second)
	// Production passes NULL: the database clock, still fixed-width.
	if _, err := s.Queries().ClaimRun(context.Background(), db.ClaimRunParams{WorkerID: ns(worker), LeaseSeconds: 900}); err != nil {
		t.Fatal(err)
	}
	var created, available, started, lease string
	if err := s.DB().QueryRow(rawRunTimesSQL, "run-1").Scan(&created, &available, &started, &lease); err != nil {
		t.Fatal(err)
	}
	if created != "2026-01-01 00:00:01.500000" || available != created {
		t.Fatalf("created_at = %q, available_at = %q", created, available)
	}
	for _, v := range []string{started, lease} {
		if len(v) != len("2026-01-01 00:00:01.500000") || v[10] != ' ' || v[19] != '.' {
			t.Fatalf("database-clock timestamp %q is not in the fixed-width form", v)
		}
		if _, err := time.Parse("2006-01-02 15:04:05.000000", v); err != nil {
			t.Fatalf("timestamp %q: %v", v, err)
		}
	}
	st, _ := time.Parse("2006-01-02 15:04:05.000000", started)
	if d := time.Since(st); d < -time.Minute || d > time.Minute {
		t.Fatalf("started_at %v is not the host clock", st)
	}
}

func TestDocumentTriggersFillChangeFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		enqueue(t, s, "run-1", keyA, 3, 0)
		update := dialectSQL(t, s, "document_update")
		// A typed NULL: Babelfish refuses the untyped one go-mssqldb sends for nil.
		if _, err := s.DB().Exec(update, "doc-run-1", sql.NullString{}, "2026-01-02 00:00:00.000000"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(update, "doc-run-1", "2026-01-03 00:00:00.000000", "2026-01-03 00:00:00.000000"); err != nil {
			t.Fatal(err)
		}
		rows, err := s.DB().Query(dialectSQL(t, s, "document_events"))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		type ev struct {
			doc, ty string
			version int64
		}
		var (
			got    []ev
			cursor int64
		)
		for rows.Next() {
			var e ev
			var c int64
			if err := rows.Scan(&c, &e.doc, &e.ty, &e.version); err != nil {
				t.Fatal(err)
			}
			if c <= cursor {
				t.Fatalf("cursor %d after %d: the change feed's cursor must grow", c, cursor)
			}
			cursor = c
			got = append(got, e)
		}
		want := []ev{{"doc-run-1", "document.changed", 1}, {"doc-run-1", "document.changed", 2}, {"doc-run-1", "document.deleted", 3}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("document_events = %+v\nwant %+v", got, want)
		}
	})
}

func TestDataVersionMovesOnOtherConnectionsCommit(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pinned := db.New(conn)
	v1, err := pinned.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v2, _ := pinned.DataVersion(ctx); v2 != v1 {
		t.Fatalf("data_version moved with no commit: %d -> %d", v1, v2)
	}
	enqueue(t, s, "run-1", keyA, 3, 0) // commits through another pooled connection
	if v3, _ := pinned.DataVersion(ctx); v3 == v1 {
		t.Fatalf("data_version did not move after another connection committed (%d)", v3)
	}
}

// TestResultsSurviveMigration3: 00003 rebuilds the results tables (WITHOUT
// ROWID on SQLite); their rows are copied over on the way down and up again,
// and the queue indexes it rebuilds still serve a claim.
func TestResultsSurviveMigration3(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	enqueue(t, s, "run-1", keyA, 3, 0)
	enqueue(t, s, "run-2", keyA, 3, time.Millisecond)
	readyEnvs(t, s, 0)
	if _, ok := claimRun(t, s, time.Second, 60); !ok {
		t.Fatal("no run claimed")
	}
	err := s.Write(ctx, func(q *db.Queries) error {
		if _, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: at(2 * time.Second), ID: "run-1", WorkerID: ns(worker), AttemptCount: 1}); err != nil {
			return err
		}
		if err := q.InsertRunMetrics(ctx, db.InsertRunMetricsParams{RunID: "run-1", EvaluationOutcome: ns("pass")}); err != nil {
			return err
		}
		if err := q.InsertRunFields(ctx, db.InsertRunFieldsParams{RunID: "run-1", Fields: `[{"field":"email","label":"E-mail","detected":true,"occurrences_tables":0,"occurrences_columns":0}]`}); err != nil {
			return err
		}
		return q.InsertRunTableColumns(ctx, db.InsertRunTableColumnsParams{RunID: "run-1", Columns: `[
			{"column_index":0,"header_raw":"Col 0","mapping_status":"unmapped","workbook_index":0,"sheet_index":0,"table_index":0,"non_empty_cells":0},
			{"column_index":1,"header_raw":"Col 1","mapping_status":"unmapped","workbook_index":0,"sheet_index":0,"table_index":0,"non_empty_cells":0},
			{"column_index":2,"header_raw":"Col 2","mapping_status":"unmapped","workbook_index":0,"sheet_index":0,"table_index":0,"non_empty_cells":0}]`})
	})
	if err != nil {
		t.Fatal(err)
	}
	results := func(when string) string {
		q := s.Queries()
		m, err := q.GetRunMetrics(ctx, "run-1")
		if err != nil {
			t.Fatalf("%s: metrics: %v", when, err)
		}
		f, err := q.ListRunFields(ctx, "run-1")
		if err != nil {
			t.Fatalf("%s: fields: %v", when, err)
		}
		c, err := q.ListRunTableColumns(ctx, "run-1")
		if err != nil {
			t.Fatalf("%s: columns: %v", when, err)
		}
		if len(f) != 1 || len(c) != 3 {
			t.Fatalf("%s: %d fields and %d columns, want 1 and 3", when, len(f), len(c))
		}
		return fmt.Sprintf("%+v %+v %+v", m, f, c)
	}
	before := results("at the latest version")
	// Down through the later migrations to 3 rolled back.
	for {
		v, err := s.MigrateDown(ctx)
		if err != nil || v < 3 {
			t.Fatalf("down = %d, %v; want the migrations after 2 rolled back one by one", v, err)
		}
		if v == 3 {
			break
		}
	}
	if got := results("at version 2"); got != before {
		t.Errorf("after down:\n got %s\nwant %s", got, before)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := results("at the latest version again"); got != before {
		t.Errorf("after up again:\n got %s\nwant %s", got, before)
	}
	if row, ok := claimRun(t, s, 3*time.Second, 60); !ok || row.ID != "run-2" {
		t.Errorf("claim after the migrations = %+v, %t; want run-2", row, ok)
	}
}
