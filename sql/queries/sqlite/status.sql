-- Queue status for `ade-worker status`, metrics and --drain.

-- name: CountRunsByStatus :many
-- One count per status, each read from an index that holds only those
-- runs: queued and running runs from their partial indexes (as many entries
-- as the live queue), finished runs from ix_runs_finished. A status with no
-- run has no row.
SELECT status, COUNT(*) AS count FROM runs WHERE status = 'queued' GROUP BY status
UNION ALL
SELECT status, COUNT(*) AS count FROM runs WHERE status = 'running' GROUP BY status
UNION ALL
SELECT status, COUNT(*) AS count FROM runs WHERE status = 'succeeded' GROUP BY status
UNION ALL
SELECT status, COUNT(*) AS count FROM runs WHERE status = 'failed' GROUP BY status
ORDER BY status;

-- name: CountEnvironmentsByStatus :many
SELECT status, COUNT(*) AS count
FROM environments
GROUP BY status
ORDER BY status;

-- name: OldestQueuedRun :many
-- The run at the head of the queue (at most one row).
SELECT id, created_at, available_at
FROM runs
WHERE status = 'queued'
ORDER BY available_at, created_at
LIMIT 1;

-- name: ListRunningLeases :many
SELECT id, workspace_id, claimed_by, attempt_count, started_at, claim_expires_at
FROM runs
WHERE status = 'running'
ORDER BY claim_expires_at
LIMIT 100;

-- name: CountPendingWork :one
-- What could still be processed: running runs, building or queued
-- environments, and queued runs with attempts left whose environment has not
-- failed. --drain stops when all three are zero and nothing is in flight.
SELECT
    (SELECT COUNT(*) FROM runs AS a WHERE a.status = 'running') AS running_runs,
    (SELECT COUNT(*) FROM environments AS b WHERE b.status IN ('queued', 'building')) AS pending_environments,
    (SELECT COUNT(*) FROM runs AS r
     WHERE r.status = 'queued'
       AND r.attempt_count < r.max_attempts
       AND NOT EXISTS (
           SELECT 1 FROM environments AS e
           WHERE e.workspace_id = r.workspace_id
             AND e.configuration_id = r.configuration_id
             AND e.engine_spec = r.engine_spec
             AND e.deps_digest = r.deps_digest
             AND e.status = 'failed'
       )) AS queued_runs;
