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

-- name: CountLiveQueue :one
-- The live queue that /metrics reports as ade_worker_queue_depth: queued
-- and running runs, queued and building environments. Each count reads an
-- index that holds only rows of its status (the runs' are partial indexes),
-- so finished runs, however many, are never counted.
SELECT
    (SELECT COUNT(*) FROM runs AS q WHERE q.status = 'queued') AS runs_queued,
    (SELECT COUNT(*) FROM runs AS r WHERE r.status = 'running') AS runs_running,
    (SELECT COUNT(*) FROM environments AS e WHERE e.status = 'queued') AS environments_queued,
    (SELECT COUNT(*) FROM environments AS b WHERE b.status = 'building') AS environments_building;

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

-- name: PendingWork :one
-- Whether anything could still be processed: a running run, a building or
-- queued environment, a queued run with attempts left whose environment has
-- not failed. --drain stops when all three are 0 and nothing is in flight.
-- Each is 1 as soon as one row is found, so the check does not count a
-- backlog of queued runs every time an idle draining worker looks. The
-- queued runs are read through ix_runs_claim, named: statistics taken while
-- most runs were queued (ANALYZE) made the planner read the table from its
-- oldest row instead, which once most runs have finished passes every one
-- of them before the first queued run.
SELECT
    (SELECT COUNT(*) FROM (
        SELECT 1 FROM runs AS a WHERE a.status = 'running' LIMIT 1)) AS has_running_run,
    (SELECT COUNT(*) FROM (
        SELECT 1 FROM environments AS b WHERE b.status IN ('queued', 'building') LIMIT 1)) AS has_pending_environment,
    (SELECT COUNT(*) FROM (
        SELECT 1 FROM runs AS r INDEXED BY ix_runs_claim
        WHERE r.status = 'queued'
          AND r.attempt_count < r.max_attempts
          AND NOT EXISTS (
              SELECT 1 FROM environments AS e
              WHERE e.workspace_id = r.workspace_id
                AND e.configuration_id = r.configuration_id
                AND e.engine_spec = r.engine_spec
                AND e.deps_digest = r.deps_digest
                AND e.status = 'failed'
          )
        LIMIT 1)) AS has_queued_run;
