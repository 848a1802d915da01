package operator

import (
	"context"
	"fmt"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

// Status is the queue at a glance (`ade-worker status`).
type Status struct {
	Runs              map[string]int64 `json:"runs"`
	Environments      map[string]int64 `json:"environments"`
	OldestQueuedRunID string           `json:"oldest_queued_run_id,omitempty"`
	OldestQueuedAge   float64          `json:"oldest_queued_age_seconds"`
	Leases            []Lease          `json:"running_leases"`
	Database          string           `json:"database"`
	SchemaVersion     int64            `json:"schema_version"`
	SchemaLatest      int64            `json:"schema_latest"`
}

// Lease is one running run's claim.
type Lease struct {
	RunID       string    `json:"run_id"`
	WorkspaceID string    `json:"workspace_id"`
	ClaimedBy   string    `json:"claimed_by"`
	Attempt     int64     `json:"attempt"`
	StartedAt   time.Time `json:"started_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	ExpiresIn   float64   `json:"expires_in_seconds"`
}

// ReadStatus reads the queue's state.
func ReadStatus(ctx context.Context, st *store.Store, now time.Time) (Status, error) {
	s := Status{Runs: map[string]int64{}, Environments: map[string]int64{}, Database: st.Redacted(), Leases: []Lease{}}
	for _, k := range []string{"queued", "running", "succeeded", "failed"} {
		s.Runs[k] = 0
	}
	for _, k := range []string{"queued", "building", "ready", "failed"} {
		s.Environments[k] = 0
	}
	schema, err := st.SchemaStatus(ctx)
	if err != nil {
		return s, err
	}
	s.SchemaVersion, s.SchemaLatest = schema.Current, schema.Latest
	q := st.Queries()
	runs, err := q.CountRunsByStatus(ctx)
	if err != nil {
		return s, fmt.Errorf("count runs: %w", err)
	}
	for _, r := range runs {
		s.Runs[r.Status] = r.Count
	}
	envs, err := q.CountEnvironmentsByStatus(ctx)
	if err != nil {
		return s, fmt.Errorf("count environments: %w", err)
	}
	for _, e := range envs {
		s.Environments[e.Status] = e.Count
	}
	oldest, err := q.OldestQueuedRun(ctx)
	if err != nil {
		return s, fmt.Errorf("oldest queued run: %w", err)
	}
	if len(oldest) > 0 {
		s.OldestQueuedRunID = oldest[0].ID
		s.OldestQueuedAge = now.Sub(oldest[0].CreatedAt.Time).Seconds()
	}
	leases, err := q.ListRunningLeases(ctx)
	if err != nil {
		return s, fmt.Errorf("running leases: %w", err)
	}
	for _, l := range leases {
		s.Leases = append(s.Leases, Lease{
			RunID: l.ID, WorkspaceID: l.WorkspaceID, ClaimedBy: l.ClaimedBy.String, Attempt: l.AttemptCount,
			StartedAt: l.StartedAt.Time.Time, ExpiresAt: l.ClaimExpiresAt.Time.Time,
			ExpiresIn: l.ClaimExpiresAt.Time.Sub(now).Seconds(),
		})
	}
	return s, nil
}
