package store

import (
	"database/sql"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-sql/civil"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/dbtime"
)

// Each argument is typed the way the T-SQL needs it, and the declared type
// of a free-text parameter never depends on its length.
func TestMSSQLArgsTypesEachArgument(t *testing.T) {
	instant := time.Date(2025, 3, 4, 5, 6, 7, 123456700, time.UTC)
	params := []string{"now", "error_message", "output_path", "id", "worker_id", "after_completed_at", "seen", "lease_seconds", "fields"}
	args := []any{
		nil,
		sql.NullString{String: "engine exited with code 1", Valid: true},
		sql.NullString{},
		"0a1b",
		sql.NullString{String: "host-1", Valid: true},
		dbtime.From(instant),
		dbtime.NullTime{},
		900.0,
		`[{"field":"email"}]`,
	}
	want := []any{
		sql.NullString{},
		mssql.NVarCharMax("engine exited with code 1"),
		sql.NullString{},
		"0a1b",
		sql.NullString{String: "host-1", Valid: true},
		civil.DateTimeOf(instant),
		mssql.NullDateTime{},
		900.0,
		mssql.NVarCharMax(`[{"field":"email"}]`),
	}
	got := mssqlArgs(params, args)
	if len(got) != len(want) {
		t.Fatalf("%d arguments, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: %#v became %#v, want %#v", params[i], args[i], got[i], want[i])
		}
	}
	// The seventh decimal survives: it is what the GC cursor and the
	// environment fence compare against.
	if dt := got[5].(civil.DateTime); dt.Time.Nanosecond != 123456700 {
		t.Errorf("DATETIME2 argument keeps %d ns, want 123456700", dt.Time.Nanosecond)
	}
	if args[0] != nil {
		t.Error("mssqlArgs changed its input")
	}
	// A short and a long message are declared alike.
	short := mssqlArgs([]string{"error_message"}, []any{"x"})[0]
	long := mssqlArgs([]string{"error_message"}, []any{strings.Repeat("x", 9000)})[0]
	if _, ok := short.(mssql.NVarCharMax); !ok {
		t.Errorf("short message sent as %T", short)
	}
	if _, ok := long.(mssql.NVarCharMax); !ok {
		t.Errorf("long message sent as %T", long)
	}
}

// keyParams and otherParams are the parameters that are not free text:
// keys keep go-mssqldb's nvarchar(n), the rest are numbers, flags and
// times. Together with freeText they must name every parameter of every
// query, so a new parameter is classified on purpose.
var (
	keyParams = []string{"after_id", "configuration_id", "deps_digest", "engine_spec", "id",
		"input_document_id", "run_id", "status", "worker_id", "workspace_id"}
	otherParams = []string{"after_completed_at", "attempt_count", "backoff_base_seconds", "backoff_max_seconds", "delay_seconds",
		"exit_code", "lease_seconds", "max_attempts", "now", "retryable", "seen_updated_at", "timeout_ms", "ttl_days"}
)

func TestEveryParameterIsClassified(t *testing.T) {
	var unknown []string
	for query, params := range db.MSSQLParams() {
		for _, p := range params {
			classes := 0
			for _, in := range []bool{freeText[p], slices.Contains(keyParams, p), slices.Contains(otherParams, p)} {
				if in {
					classes++
				}
			}
			// The run_metrics counts are numbers, too many to list one by one.
			if classes == 0 && query == "InsertRunMetrics" && p != "run_id" {
				classes = 1
			}
			switch {
			case classes == 0:
				unknown = append(unknown, query+"."+p)
			case classes > 1:
				t.Errorf("%s.%s is in more than one class", query, p)
			}
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("parameters neither free text, key nor other (classify them in mssqlargs.go or this test): %v", unknown)
	}
}
