package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
	"github.com/ade-dev/ade-worker/internal/twins"
)

// Migration 00002 rebuilds an index of runs, the table the ADE API inserts
// into. It runs outside goose's transaction (an index build inside one
// holds its locks on runs to the end), builds the new index before it drops
// the old one, online where the edition can (falling back to an offline
// build on error 1712), and can be run again from the top after being cut
// short (an index already built, error 1913, or already dropped, 3701).
func TestMigration2BuildsItsIndexOnline(t *testing.T) {
	m := migration(t, "00002_")
	src, err := os.ReadFile(m.File)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "-- +goose NO TRANSACTION") {
		t.Error("00002 runs in goose's transaction; want -- +goose NO TRANSACTION")
	}
	var up strings.Builder
	for _, c := range m.Up {
		up.WriteString(c.Text)
	}
	text := up.String()
	create, drop := strings.Index(text, "CREATE INDEX ix_runs_status_key"), strings.Index(text, "DROP INDEX ix_runs_env_key")
	if create < 0 || drop < 0 || drop < create {
		t.Error("00002 must build ix_runs_status_key before it drops ix_runs_env_key")
	}
	for _, want := range []string{"WITH (ONLINE = ON)", "ERROR_NUMBER() = 1712", "<> 1913", "<> 3701"} {
		if !strings.Contains(text, want) {
			t.Errorf("00002 Up lacks %q", want)
		}
	}
}

// Run again after it completed, as goose runs a NO TRANSACTION migration
// that was cut short, 00002 passes over the steps already done and leaves
// the same indexes.
func TestMigration2RunsAgainFromTheTop(t *testing.T) {
	s := storetest.MSSQLFresh(t, false)
	storetest.SkipOnBabelfish(t, s, "SQL Server's error numbers for an index that exists or is gone (1913, 3701)")
	ctx := context.Background()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	before := runsIndexes(t, s)
	for _, c := range migration(t, "00002_").Up {
		if _, err := s.DB().ExecContext(ctx, c.Text); err != nil {
			t.Fatalf("00002 again, line %d: %v", c.Line, err)
		}
	}
	after := runsIndexes(t, s)
	if !slices.Equal(before, after) || !slices.Contains(after, "ix_runs_status_key") || slices.Contains(after, "ix_runs_env_key") {
		t.Fatalf("indexes of runs %v, then %v after 00002 ran again", before, after)
	}
}

func migration(t *testing.T, prefix string) twins.Migration {
	t.Helper()
	migrations, err := twins.ReadMigrations(migrationDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if strings.HasPrefix(filepath.Base(m.File), prefix) {
			return m
		}
	}
	t.Fatalf("no migration %s* in %s", prefix, migrationDir)
	return twins.Migration{}
}

// runsIndexes are the names of the indexes of runs.
func runsIndexes(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), dialectSQL(t, s, "runs_indexes"))
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
	return names
}
