-- T-SQL twins of sql/queries/sqlite/runs.sql. An @name in a comment such as
-- this one (@worker_id) is not a parameter use.

-- name: ClaimRun :one
WITH next AS (
    SELECT TOP (1) r.id
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued'
      AND r.available_at <= COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
      AND r.attempt_count < r.max_attempts
    ORDER BY r.available_at, r.created_at
)
UPDATE runs
SET status = N'running',
    claimed_by = @worker_id,
    claim_expires_at = DATEADD(SECOND, @lease_seconds, COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())),
    attempt_count = attempt_count + 1
OUTPUT inserted.id, inserted.workspace_id, inserted.attempt_count
FROM runs
JOIN next ON next.id = runs.id;

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = DATEADD(SECOND, @lease_seconds, COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id;

-- name: ListDueRuns :many
SELECT TOP (@max_rows) id, workspace_id, available_at
FROM runs
WHERE workspace_id = @workspace_id
  AND status = N'queued'
  AND available_at <= CAST(@due_before AS DATETIME2)
ORDER BY available_at, id;

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status AND N'@status' <> [@status];

-- name: DeleteRunFields :exec
/* Deletes in batches so a run with many fields never escalates to a table
   lock. @deleted is a local variable, not a parameter. */
DECLARE @deleted INT = 1;
WHILE @deleted > 0
BEGIN
    DELETE TOP (500) FROM run_fields WHERE run_id = @run_id;
    SET @deleted = @@ROWCOUNT;
END;

-- name: AcquireLock :exec
DECLARE @result INT;
EXEC @result = sp_getapplock
    @Resource = N'fixture:lock',
    @LockMode = N'Exclusive',
    @LockOwner = N'Session',
    @LockTimeout = @timeout_ms;
IF @result < 0
    THROW 50001, N'could not take the lock', 1;
