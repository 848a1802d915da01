-- T-SQL twins of sql/queries/sqlite/status.sql.

-- name: CountRunsByStatus :many
SELECT status, COUNT_BIG(*) AS count
FROM runs
GROUP BY status
ORDER BY status;

-- name: CountLiveQueue :one
SELECT
    (SELECT COUNT_BIG(*) FROM runs AS q WHERE q.status = N'queued') AS runs_queued,
    (SELECT COUNT_BIG(*) FROM runs AS r WHERE r.status = N'running') AS runs_running,
    (SELECT COUNT_BIG(*) FROM environments AS e WHERE e.status = N'queued') AS environments_queued,
    (SELECT COUNT_BIG(*) FROM environments AS b WHERE b.status = N'building') AS environments_building;

-- name: CountEnvironmentsByStatus :many
SELECT status, COUNT_BIG(*) AS count
FROM environments
GROUP BY status
ORDER BY status;

-- name: OldestQueuedRun :many
SELECT TOP (1) id, created_at, available_at
FROM runs
WHERE status = N'queued'
ORDER BY available_at, created_at;

-- name: ListRunningLeases :many
SELECT TOP (100) id, workspace_id, claimed_by, attempt_count, started_at, claim_expires_at
FROM runs
WHERE status = N'running'
ORDER BY claim_expires_at;

-- name: PendingWork :one
SELECT
    (SELECT COUNT_BIG(*) FROM (
        SELECT TOP (1) 1 AS found FROM runs AS a WHERE a.status = N'running') AS t) AS has_running_run,
    (SELECT COUNT_BIG(*) FROM (
        SELECT TOP (1) 1 AS found FROM environments AS b WHERE b.status IN (N'queued', N'building')) AS t) AS has_pending_environment,
    (SELECT COUNT_BIG(*) FROM (
        SELECT TOP (1) 1 AS found FROM runs AS r
        WHERE r.status = N'queued'
          AND r.attempt_count < r.max_attempts
          AND NOT EXISTS (
              SELECT 1 FROM environments AS e
              WHERE e.workspace_id = r.workspace_id
                AND e.configuration_id = r.configuration_id
                AND e.engine_spec = r.engine_spec
                AND e.deps_digest = r.deps_digest
                AND e.status = N'failed'
          )) AS t) AS has_queued_run;
