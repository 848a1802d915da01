-- name: ClaimRun :one
-- A named parameter used twice (now) is one numbered parameter.
UPDATE runs
SET status = 'running',
    claimed_by = @worker_id,
    claim_expires_at = strftime('%Y-%m-%d %H:%M:%f', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS INTEGER) || ' seconds'),
    attempt_count = attempt_count + 1
WHERE id = (
    SELECT r.id FROM runs AS r
    WHERE r.status = 'queued'
      AND r.available_at <= strftime('%Y-%m-%d %H:%M:%f', COALESCE(sqlc.narg(now), 'now'))
      AND r.attempt_count < r.max_attempts
    ORDER BY r.available_at, r.created_at
    LIMIT 1
)
RETURNING id, workspace_id, attempt_count;

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = strftime('%Y-%m-%d %H:%M:%f', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS INTEGER) || ' seconds')
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id;

-- name: ListDueRuns :many
SELECT id, workspace_id, available_at
FROM runs
WHERE workspace_id = sqlc.arg(workspace_id)
  AND status = 'queued'
  AND available_at <= @due_before
ORDER BY available_at, id
LIMIT @max_rows;

-- name: CountRuns :one
SELECT count(*) AS total FROM runs WHERE status = @status;

-- name: DeleteRunFields :exec
DELETE FROM run_fields WHERE run_id = @run_id;

-- name: AcquireLock :exec
-- SQLite serializes writers on its own; this only checks the argument.
SELECT CAST(@timeout_ms AS INTEGER);
