package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ade-dev/ade-worker/internal/operator"
	"github.com/ade-dev/ade-worker/internal/store"
)

func cmdStatus(env *cliEnv, args []string) int {
	fs := env.flags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, _, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, false)
	if code != 0 {
		return code
	}
	defer st.Close()
	// A database never migrated has no tables to count: say what to do
	// instead of "no such table". One ahead of this binary is still read.
	if err := st.CheckSchema(ctx); errors.Is(err, store.ErrSchemaBehind) {
		fmt.Fprintf(env.stderr, "ade-worker status: %v\n", err)
		return exitFailure
	}
	s, err := operator.ReadStatus(ctx, st, time.Now())
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker status: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		return env.printJSON(s)
	}
	out := env.stdout
	fmt.Fprintf(out, "database: %s (schema %d of %d)\n", s.Database, s.SchemaVersion, s.SchemaLatest)
	fmt.Fprintf(out, "runs:         %s\n", counts(s.Runs, "queued", "running", "succeeded", "failed"))
	fmt.Fprintf(out, "environments: %s\n", counts(s.Environments, "queued", "building", "ready", "failed"))
	if s.OldestQueuedRunID != "" {
		fmt.Fprintf(out, "oldest queued run: %s, queued %s ago\n", s.OldestQueuedRunID, (time.Duration(s.OldestQueuedAge) * time.Second).Round(time.Second))
	}
	if len(s.Leases) > 0 {
		fmt.Fprintln(out, "\nrunning:")
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tWORKER\tATTEMPT\tSTARTED\tLEASE EXPIRES")
		for _, l := range s.Leases {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s (in %s)\n", l.RunID, l.ClaimedBy, l.Attempt, l.StartedAt.Format(time.RFC3339),
				l.ExpiresAt.Format(time.RFC3339), (time.Duration(l.ExpiresIn) * time.Second).Round(time.Second))
		}
		tw.Flush()
	}
	return exitOK
}

func counts(m map[string]int64, order ...string) string {
	parts := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		seen[k] = true
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
