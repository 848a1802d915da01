package store_test

import (
	"context"
	_ "embed"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// seedRunMixSQL inserts ?1 runs, ?2 of every 100 finished and the others
// live, then runs ANALYZE.
//
//go:embed testdata/seed_run_mix.sql
var seedRunMixSQL string

// planScansAllowed are the SCAN steps any query may have: none of them
// reads a table that grows with the runs.
var planScansAllowed = []string{
	"SCAN CONSTANT ROW",
	"SCAN j VIRTUAL TABLE",                    // jsonb_each of the worker's own results array
	"SCAN pragma_data_version VIRTUAL TABLE",  // the wake-up probe
	"SCAN k",                                  // queued_run_keys: one row per distinct queued key
	"SCAN environments USING COVERING INDEX ", // CountEnvironmentsByStatus: one entry per environment
	"SCAN (subquery-",                         // a subquery's own rows (its reads are steps of their own)
}

// scanMatches reports whether step is the scan p names: p itself, or p
// followed by more words (p that ends in a space or a dash is a prefix).
func scanMatches(step, p string) bool {
	if strings.HasSuffix(p, " ") || strings.HasSuffix(p, "-") {
		return strings.HasPrefix(step, p)
	}
	return step == p || strings.HasPrefix(step, p+" ")
}

// planSortsAllowed are the queries that may sort, and why that is cheap.
var planSortsAllowed = map[string]string{
	"CountRunsByStatus":  "orders its at most four count rows",
	"ListGCEnvironments": "orders the cold environments GC may delete",
}

// planWants pins the index each statement of the hot path seeks: a change
// of schema or query that turns one into a scan, or into a seek of a
// wider index, fails here rather than in production at a million runs.
var planWants = map[string][]string{
	"ClaimRun": {
		"SEARCH r USING INDEX ix_runs_claim (status=? AND available_at<?)",
		"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)",
		"USING INDEX sqlite_autoindex_environments_2 (workspace_id=? AND configuration_id=? AND engine_spec=? AND deps_digest=?)",
	},
	"ClaimEnvironment":        {"SEARCH q USING INDEX ix_environments_claim (status=? AND available_at<?)"},
	"UseEnvironment":          {"SEARCH environments USING INDEX sqlite_autoindex_environments_2 (workspace_id=? AND configuration_id=? AND engine_spec=? AND deps_digest=?)"},
	"GetDocument":             {"SEARCH documents USING INDEX sqlite_autoindex_documents_1 (id=?)"},
	"HeartbeatRun":            {"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"},
	"CompleteRun":             {"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"},
	"FailRun":                 {"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"},
	"ReleaseRun":              {"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"},
	"DeferRun":                {"SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"},
	"DeleteRunMetrics":        {"SEARCH run_metrics USING PRIMARY KEY (run_id=?)"},
	"DeleteRunFields":         {"SEARCH run_fields USING PRIMARY KEY (run_id=?)"},
	"DeleteRunTableColumns":   {"SEARCH run_table_columns USING PRIMARY KEY (run_id=?)"},
	"ExpireRunLeases":         {"SEARCH x USING INDEX ix_runs_lease (status=? AND claim_expires_at<?)"},
	"FailExhaustedRuns":       {"SEARCH x USING COVERING INDEX ix_runs_exhausted (status=?)"},
	"OldestQueuedRun":         {"SEARCH runs USING INDEX ix_runs_claim (status=?)"},
	"ListExpiredRunArtifacts": {"SEARCH runs USING COVERING INDEX ix_runs_completed_id (completed_at>? AND completed_at<?)"},
	"EnsureEnvironments":      {"SEARCH f USING INDEX ix_runs_status_key (status=?)"},
	"PendingWork":             {"SEARCH r USING INDEX ix_runs_claim (status=?)"},
}

// Every SQLite statement of gen/db is planned as index seeks: no scan of a
// table that grows with the runs, no sort outside planSortsAllowed, and
// the hot path's statements seek the indexes planWants names. It holds on
// a fresh database, where the planner guesses, and after ANALYZE, where it
// goes by statistics (the API or an operator may run ANALYZE; the worker
// does not), on 20,000 runs mostly finished (a busy history) and on 20,000
// runs mostly queued (a backlog).
func TestSQLitePlansSeekTheirIndexes(t *testing.T) {
	queries := db.SQLiteQueries()
	for name := range planWants {
		if _, ok := queries[name]; !ok {
			t.Errorf("planWants names %s, which gen/db does not have", name)
		}
	}
	for _, c := range []struct {
		name           string
		runs, finished int
	}{{"fresh", 0, 0}, {"analyzed/history", 20_000, 90}, {"analyzed/backlog", 20_000, 5}} {
		t.Run(c.name, func(t *testing.T) {
			s := storetest.SQLite(t)
			if c.runs > 0 {
				if _, err := s.DB().ExecContext(context.Background(), seedRunMixSQL, c.runs, c.finished); err != nil {
					t.Fatalf("seed %d runs: %v", c.runs, err)
				}
			}
			for name, q := range queries {
				checkPlan(t, name, queryPlan(t, s, name, q))
			}
		})
	}
}

var paramRE = regexp.MustCompile(`\?(\d+)`)

// queryPlan is SQLite's plan of the generated statement q, every parameter
// NULL: the query text goes to the planner unchanged, after EXPLAIN QUERY
// PLAN.
func queryPlan(t *testing.T, s *store.Store, name, q string) []string {
	t.Helper()
	n := 0
	for _, m := range paramRE.FindAllStringSubmatch(q, -1) {
		k, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatalf("%s: parameter ?%s: %v", name, m[1], err)
		}
		n = max(n, k)
	}
	rows, err := s.DB().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, make([]any, n)...)
	if err != nil {
		t.Fatalf("%s: explain: %v", name, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return plan
}

func checkPlan(t *testing.T, name string, plan []string) {
	t.Helper()
	show := "\n    " + strings.Join(plan, "\n    ")
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN ") && !slices.ContainsFunc(planScansAllowed, func(p string) bool {
			return scanMatches(step, p)
		}) {
			t.Errorf("%s scans: %q; its plan:%s", name, step, show)
		}
		if strings.Contains(step, "TEMP B-TREE") {
			if _, ok := planSortsAllowed[name]; !ok {
				t.Errorf("%s sorts: %q; its plan:%s", name, step, show)
			}
		}
	}
	for _, want := range planWants[name] {
		if !slices.ContainsFunc(plan, func(step string) bool { return strings.Contains(step, want) }) {
			t.Errorf("%s does not %s; its plan:%s", name, want, show)
		}
	}
}
