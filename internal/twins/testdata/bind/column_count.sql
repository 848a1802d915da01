-- want: column_count.sql:14: ClaimRun: returns columns (id, workspace_id) but the generated method scans (id, workspace_id, attempt_count)

-- name: ClaimRun :one
WITH next AS (
    SELECT TOP (1) r.id
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued' AND r.available_at <= COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
    ORDER BY r.available_at, r.created_at
)
UPDATE runs
SET status = N'running',
    claimed_by = @worker_id,
    claim_expires_at = DATEADD(SECOND, @lease_seconds, COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))
OUTPUT inserted.id, inserted.workspace_id
FROM runs JOIN next ON next.id = runs.id;
