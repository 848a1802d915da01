package store_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// Error messages of many lengths reuse one cached plan: the message is
// declared NVARCHAR(MAX) whatever its length, where go-mssqldb alone would
// declare nvarchar(len) and SQL Server would compile a plan per length.
func TestFreeTextKeepsOneCachedPlan(t *testing.T) {
	s := storetest.MSSQL(t)
	storetest.SkipOnBabelfish(t, s, "sys.dm_exec_cached_plans")
	ctx := context.Background()
	enqueue(t, s, "r1", keyA, 3, 0)
	envs := readyEnvs(t, s, 0)
	seen, err := s.Queries().GetEnvironment(ctx, envs[0])
	if err != nil {
		t.Fatal(err)
	}

	const name = "-- name: RequeueEnvironment :execrows"
	pos := slices.Index(db.MSSQLParams()["RequeueEnvironment"], "error_message")
	if pos < 0 {
		t.Fatal("RequeueEnvironment has no error_message parameter")
	}
	for _, n := range []int{7, 71, 713} {
		msg := fmt.Sprintf("environment interpreter missing: %s", strings.Repeat("x", n))
		if _, err := s.Queries().RequeueEnvironment(ctx, db.RequeueEnvironmentParams{ID: seen.ID, SeenUpdatedAt: seen.UpdatedAt, ErrorMessage: ns(msg)}); err != nil {
			t.Fatalf("requeue with a %d-character message: %v", len(msg), err)
		}
	}
	rows, err := s.DB().QueryContext(ctx, dialectSQL(t, s, "cached_plan_texts"), name)
	if err != nil {
		t.Fatalf("read the plan cache: %v", err)
	}
	defer rows.Close()
	decl := regexp.MustCompile(fmt.Sprintf(`@p%d (n?varchar\([^)]*\))`, pos+1))
	var declared []string
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			t.Fatal(err)
		}
		if m := decl.FindStringSubmatch(text); m != nil && !slices.Contains(declared, m[1]) {
			declared = append(declared, m[1])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(declared, []string{"nvarchar(max)"}) {
		t.Fatalf("the error message was declared as %v in the cached plans of RequeueEnvironment; want only nvarchar(max)", declared)
	}
}
