package twins

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tests in this file check the repository's own SQL, in a plain go test
// run and without sqlc: the twins bind and gen/db/mssql.sql.go is current,
// the claims and time parameters have the shape the design asks for, the
// T-SQL migrations parse, and both dialects' migrations make the same
// schema.

// Paths of the repository's SQL, relative to its root.
const (
	repoSQLiteQueries = "sql/queries/sqlite"
	repoTwins         = "sql/queries/mssql"
	repoGenDB         = "gen/db"
	repoSQLiteSchema  = "sql/schema/sqlite"
	repoTSQLSchema    = "sql/schema/mssql"
	repoBinding       = "gen/db/mssql.sql.go"
)

// inRepo changes the test's working directory to the repository root (the
// folder holding go.mod), so paths in messages read as they do for sqlc.
// It skips the test while the folders it needs do not exist yet.
func inRepo(t *testing.T, need ...string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	t.Chdir(dir)
	for _, path := range need {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s does not exist yet", path)
		}
	}
}

func repoTwinList(t *testing.T) []Twin {
	t.Helper()
	twins, err := ReadDir(repoTwins)
	if err != nil {
		t.Fatalf("read T-SQL twins:\n%v", err)
	}
	return twins
}

// TestRepoTwinsBind binds every twin to the SQLite query of the same name,
// with the parameter numbers sqlc gave in gen/db, and checks that
// gen/db/mssql.sql.go is what binding them gives now.
func TestRepoTwinsBind(t *testing.T) {
	inRepo(t, repoSQLiteQueries, repoTwins, repoGenDB)
	queries, err := ReadSQLiteQueries(repoSQLiteQueries, repoGenDB)
	if err != nil {
		t.Fatalf("read SQLite queries:\n%v", err)
	}
	bound, err := Bind(context.Background(), queries, repoTwinList(t))
	if err != nil {
		t.Fatalf("bind T-SQL twins:\n%v", err)
	}
	want, err := Render(bound, RenderOptions{Package: "db", Source: repoTwins})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(repoBinding)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		config, _ := os.ReadFile("sqlc.yaml")
		if bytes.Contains(config, []byte("sqlc-gen-twins")) {
			t.Errorf("%s is missing: run sqlc generate", repoBinding)
		} else {
			t.Skipf("%s is not generated yet: sqlc.yaml does not run sqlc-gen-twins", repoBinding)
		}
	case err != nil:
		t.Fatal(err)
	case !bytes.Equal(got, want):
		t.Errorf("%s is stale: run sqlc generate", repoBinding)
	}
}

// TestRepoClaims checks every query named Claim*: the four claim hints on
// one table, ORDER BY, and OUTPUT INTO a table variable.
func TestRepoClaims(t *testing.T) {
	inRepo(t, repoTwins)
	claims := 0
	for _, tw := range repoTwinList(t) {
		if !strings.HasPrefix(tw.Name, "Claim") {
			continue
		}
		claims++
		if err := CheckClaim(context.Background(), tw); err != nil {
			t.Error(err)
		}
	}
	if claims == 0 {
		t.Errorf("no twin in %s is named Claim*: the queue claims rows with Claim* queries", repoTwins)
	}
}

// TestRepoTimeCasts checks that every use of a time parameter in a twin is
// CAST(@x AS DATETIME2).
func TestRepoTimeCasts(t *testing.T) {
	inRepo(t, repoTwins)
	for _, tw := range repoTwinList(t) {
		if err := CheckTimeCasts(context.Background(), tw); err != nil {
			t.Error(err)
		}
	}
}

// TestRepoTSQLMigrationsParse parses every chunk of every T-SQL migration,
// Up and Down.
func TestRepoTSQLMigrationsParse(t *testing.T) {
	inRepo(t, repoTSQLSchema)
	migrations, err := ReadMigrations(repoTSQLSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if err := CheckTSQLMigration(context.Background(), m); err != nil {
			t.Error(err)
		}
	}
}

// TestRepoSchemasAgree applies the SQLite migrations to a real in-memory
// SQLite and compares what SQLite made of them with what the T-SQL
// migrations create: tables, columns, nullability, primary and unique keys.
func TestRepoSchemasAgree(t *testing.T) {
	inRepo(t, repoSQLiteSchema, repoTSQLSchema)
	lite := sqliteSchema(t, repoSQLiteSchema)
	tsql := tsqlSchema(t, repoTSQLSchema)
	if len(lite.Tables) == 0 {
		t.Fatalf("the SQLite migrations in %s create no table", repoSQLiteSchema)
	}
	for _, d := range CompareSchemas(lite, tsql) {
		t.Error(d)
	}
}
