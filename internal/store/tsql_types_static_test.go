package store_test

// Static checks of the types and collations the T-SQL twins use against
// the columns the migrations leave (no SQL Server needed).

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/twins"
)

// binaryColumns are the key columns that compare byte for byte, as SQLite
// compares text: Latin1_General_100_BIN2 on SQL Server (migration 00003).
var binaryColumns = []string{
	"environments.engine_spec", "environments.deps_digest",
	"runs.engine_spec", "runs.deps_digest",
	"run_fields.field", "run_table_columns.mapped_field",
}

const binaryCollation = "Latin1_General_100_BIN2"

// alteredType matches the ALTER COLUMN statements of the migrations,
// including those a migration runs as dynamic SQL (EXEC (N'...')).
var alteredType = regexp.MustCompile(`(?i)ALTER TABLE (\w+) ALTER COLUMN (\w+) (N?VARCHAR\((?:\d+|MAX)\))(?: COLLATE (\w+))?`)

// finalColumns are the type and collation of every string column once every
// Up migration has run: the CREATE TABLE of 00001, then each ALTER COLUMN.
func finalColumns(t *testing.T) map[string][2]string {
	t.Helper()
	_, migrationUnits := tsqlUnits(t)
	cols := map[string][2]string{}
	for _, u := range migrationUnits {
		walk(ast(t, u), func(n map[string]any) {
			if n["$type"] != "CreateTableStatement" {
				return
			}
			table := strings.ToLower(baseName(n["SchemaObjectName"]))
			def, _ := n["Definition"].(map[string]any)
			for _, c := range list(def["ColumnDefinitions"]) {
				if typ := stringType(c["DataType"]); typ != "" {
					cols[table+"."+strings.ToLower(identValue(c["ColumnIdentifier"]))] = [2]string{typ, identValue(c["Collation"])}
				}
			}
		})
	}
	migrations, err := twins.ReadMigrations(migrationDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		for _, c := range m.Up {
			for _, a := range alteredType.FindAllStringSubmatch(c.Text, -1) {
				key := strings.ToLower(a[1] + "." + a[2])
				if _, ok := cols[key]; !ok {
					t.Fatalf("%s alters %s, which no migration creates", m.File, key)
				}
				cols[key] = [2]string{strings.ToUpper(a[3]), a[4]}
			}
		}
	}
	return cols
}

// stringType is "NVARCHAR(n)" for a string data type node, else "".
func stringType(dt any) string {
	d, _ := dt.(map[string]any)
	opt, _ := d["SqlDataTypeOption"].(string)
	if opt != "NVarChar" && opt != "VarChar" {
		return ""
	}
	size := "MAX"
	if ps := list(d["Parameters"]); len(ps) > 0 && ps[0]["$type"] == "IntegerLiteral" {
		size, _ = ps[0]["Value"].(string)
	}
	return strings.ToUpper(opt) + "(" + size + ")"
}

// The key columns compare byte for byte after the migrations: SQL Server's
// default collation is case-insensitive, and made Email and email one field.
func TestKeyColumnsAreBinary(t *testing.T) {
	cols := finalColumns(t)
	for _, c := range binaryColumns {
		if got := cols[c][1]; got != binaryCollation {
			t.Errorf("%s has collation %q after the migrations; want %s", c, got, binaryCollation)
		}
	}
}

// A table variable's string columns take the database's collation, and
// comparing one with a binary column is a collation conflict (error 468).
// So a table variable column named like a binary column declares the same
// collation.
func TestTableVariablesDeclareTheKeyCollation(t *testing.T) {
	names := map[string]bool{}
	for _, c := range binaryColumns {
		names[c[strings.Index(c, ".")+1:]] = true
	}
	twinUnits, _ := tsqlUnits(t)
	declared := 0
	for _, u := range twinUnits {
		walk(ast(t, u), func(n map[string]any) {
			if n["$type"] != "DeclareTableVariableBody" {
				return
			}
			def, _ := n["Definition"].(map[string]any)
			for _, c := range list(def["ColumnDefinitions"]) {
				name := strings.ToLower(identValue(c["ColumnIdentifier"]))
				if !names[name] {
					continue
				}
				declared++
				if got := identValue(c["Collation"]); got != binaryCollation {
					t.Errorf("%s: table variable column %s has collation %q; want COLLATE %s", u.where, name, got, binaryCollation)
				}
			}
		})
	}
	if declared == 0 {
		t.Fatal("no table variable holds a key column; EnsureEnvironments' @keys does")
	}
}

// The OPENJSON WITH types of the result inserts are the types of the
// columns they fill: OPENJSON cuts a longer string to its WITH type without
// a word, where SQLite would keep it whole.
func TestOpenJSONColumnsMatchTheTables(t *testing.T) {
	cols := finalColumns(t)
	twinUnits, _ := tsqlUnits(t)
	checked := 0
	for _, u := range twinUnits {
		var table string
		root := ast(t, u)
		walk(root, func(n map[string]any) {
			if n["$type"] == "InsertSpecification" {
				target, _ := n["Target"].(map[string]any)
				table = strings.ToLower(baseName(target["SchemaObject"]))
			}
		})
		walk(root, func(n map[string]any) {
			if n["$type"] != "SchemaDeclarationItemOpenjson" {
				return
			}
			def, _ := n["ColumnDefinition"].(map[string]any)
			typ := stringType(def["DataType"])
			if typ == "" {
				return
			}
			checked++
			key := table + "." + strings.ToLower(identValue(def["ColumnIdentifier"]))
			if want, ok := cols[key]; !ok || want[0] != typ {
				t.Errorf("%s: OPENJSON reads %s as %s; the column is %v", u.where, key, typ, want)
			}
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d OPENJSON columns; the result inserts have more", checked)
	}
}

// The migrations widen every free-text result column to what the worker
// stores (results.MaxTextLength) and keep the field names (the key) at
// results.MaxNameLength.
func TestResultTextColumnsHoldTheStoredLimits(t *testing.T) {
	cols := finalColumns(t)
	name, text := fmt.Sprintf("NVARCHAR(%d)", results.MaxNameLength), fmt.Sprintf("NVARCHAR(%d)", results.MaxTextLength)
	want := map[string]string{
		"run_fields.field": name, "run_table_columns.mapped_field": name,
		"run_fields.label": text, "run_table_columns.workbook_name": text,
		"run_table_columns.sheet_name": text, "run_table_columns.mapping_method": text,
		"run_table_columns.unmapped_reason": text, "run_metrics.evaluation_outcome": text,
		"run_metrics.validation_max_severity": text,
		"run_table_columns.header_raw":        "NVARCHAR(MAX)", "run_table_columns.header_normalized": "NVARCHAR(MAX)",
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got := cols[k][0]; got != want[k] {
			t.Errorf("%s is %s after the migrations; want %s", k, got, want[k])
		}
	}
}
