package twins

import (
	"context"
	"database/sql"
	"os"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// sqliteSchema applies the SQLite migrations of dir to a new in-memory
// database and reads its schema back.
func sqliteSchema(t *testing.T, dir string) *Schema {
	t.Helper()
	ctx := context.Background()
	migrations, err := ReadMigrations(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	// Each connection to :memory: is a database of its own.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if err := ExecUp(ctx, db, migrations); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSQLiteSchema(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tsqlSchema(t *testing.T, dir string) *Schema {
	t.Helper()
	migrations, err := ReadMigrations(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadTSQLSchema(context.Background(), migrations)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchemasOfTheGoodFixtureAgree(t *testing.T) {
	lite := sqliteSchema(t, "testdata/good/sql/schema/sqlite")
	tsql := tsqlSchema(t, "testdata/good/sql/schema/mssql")
	if diffs := CompareSchemas(lite, tsql); len(diffs) > 0 {
		t.Errorf("good fixture schemas differ:\n%s", strings.Join(diffs, "\n"))
	}
	// The comparison has something to compare: both sides were read.
	for _, s := range []*Schema{lite, tsql} {
		events := s.Tables["document_events"]
		if events == nil || !events.Columns["cursor"].NotNull || !slices.Equal(events.PrimaryKey, []string{"cursor"}) || len(events.Uniques) != 1 {
			t.Errorf("document_events read as %+v", events)
		}
		if fields := s.Tables["run_fields"]; fields == nil || !slices.Equal(fields.PrimaryKey, []string{"run_id", "field"}) || fields.Columns["label"].NotNull {
			t.Errorf("run_fields read as %+v", fields)
		}
	}
}

func TestCompareSchemasReportsEveryDifference(t *testing.T) {
	want, err := os.ReadFile("testdata/schema/mismatch/want.txt")
	if err != nil {
		t.Fatal(err)
	}
	diffs := CompareSchemas(sqliteSchema(t, "testdata/schema/mismatch/sqlite"), tsqlSchema(t, "testdata/schema/mismatch/mssql"))
	if got := strings.Join(diffs, "\n") + "\n"; got != string(want) {
		t.Errorf("differences:\n%s\nwant:\n%s", got, want)
	}
}

func TestReadTSQLSchemaRefuses(t *testing.T) {
	migrations, err := ReadMigrations("testdata/schema/tsql_errors")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadTSQLSchema(context.Background(), migrations)
	assertErrors(t, err, []string{
		"00001_init.sql:4: column runs.status: state NULL or NOT NULL (the default depends on session settings)",
		"00001_init.sql:6: table runs is created twice",
		"00001_init.sql:7: table environments is altered before it is created",
		"00001_init.sql:8: ALTER COLUMN runs.status: state NULL or NOT NULL (the default depends on session settings)",
		"00002_broken.sql:2: does not parse as T-SQL",
	})
}

func TestParseGoose(t *testing.T) {
	src := `-- A comment before Up is not run.
-- +goose Up
CREATE TABLE a (id INT NOT NULL);
-- +goose StatementBegin
CREATE TRIGGER t ON a AFTER INSERT AS
BEGIN
    SET NOCOUNT ON;
END;
-- +goose StatementEnd
CREATE TABLE b (id INT NOT NULL);

-- +goose Down
DROP TABLE b;
`
	m, err := ParseGoose("m.sql", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var up []string
	for _, c := range m.Up {
		up = append(up, strings.TrimSpace(c.Text))
	}
	want := []string{
		"CREATE TABLE a (id INT NOT NULL);",
		"CREATE TRIGGER t ON a AFTER INSERT AS\nBEGIN\n    SET NOCOUNT ON;\nEND;",
		"CREATE TABLE b (id INT NOT NULL);",
	}
	if !slices.Equal(up, want) {
		t.Errorf("Up chunks %q, want %q", up, want)
	}
	if m.Up[1].Line != 5 || m.Up[2].Line != 10 {
		t.Errorf("chunk lines %d, %d, want 5, 10", m.Up[1].Line, m.Up[2].Line)
	}
	if len(m.Down) != 1 || strings.TrimSpace(m.Down[0].Text) != "DROP TABLE b;" {
		t.Errorf("Down chunks %+v", m.Down)
	}
	if err := CheckTSQLMigration(context.Background(), m); err != nil {
		t.Errorf("CheckTSQLMigration: %v", err)
	}
}

func TestParseGooseRefuses(t *testing.T) {
	cases := map[string]string{
		"CREATE TABLE a (id INT);\n":                                                  "m.sql:1: has no +goose Up section",
		"-- +goose Down\nDROP TABLE a;\n":                                             "m.sql:1: +goose Down before +goose Up",
		"-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n":                         "m.sql:4: +goose StatementBegin without StatementEnd",
		"-- +goose Up\nSELECT 1;\n-- +goose StatementEnd\n":                           "m.sql:3: +goose StatementEnd without StatementBegin",
		"-- +goose Up\n-- +goose StatementBegin\n-- +goose Down\n":                    "m.sql:3: +goose Down inside a StatementBegin block",
		"-- +goose Up\n-- +goose Sideways\n":                                          `m.sql:2: unknown goose annotation "-- +goose Sideways"`,
		"-- +goose Up\nSELECT 1;\n-- +goose Up\n":                                     "m.sql:3: a second +goose Up",
		"-- +goose Up\n-- +goose StatementBegin\n-- +goose StatementBegin\n":          "m.sql:3: +goose StatementBegin inside another block",
		"-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\n-- +goose Up\n": "m.sql:1: +goose StatementBegin before +goose Up",
	}
	for src, want := range cases {
		_, err := ParseGoose("m.sql", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("ParseGoose(%q) = %v, want %q", src, err, want)
		}
	}
}

func TestReadMigrationsOrdersByVersion(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"2_b.sql":  "-- +goose Up\nSELECT 2;\n",
		"10_c.sql": "-- +goose Up\nSELECT 10;\n",
		"1_a.sql":  "-- +goose Up\nSELECT 1;\n",
	} {
		if err := os.WriteFile(dir+"/"+name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	migrations, err := ReadMigrations(dir)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range migrations {
		order = append(order, strings.TrimPrefix(m.File, dir+"/"))
	}
	if want := []string{"1_a.sql", "2_b.sql", "10_c.sql"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if err := os.WriteFile(dir+"/01_dup.sql", []byte("-- +goose Up\nSELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMigrations(dir); err == nil || !strings.Contains(err.Error(), "have the same version") {
		t.Errorf("duplicate version: %v", err)
	}
}
