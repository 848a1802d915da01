-- Without READCOMMITTEDLOCK, READPAST is an error where read committed
-- snapshot is on (Azure SQL).
-- want: claim_missing_hint.sql:5: ClaimRun: claim lacks table hint READCOMMITTEDLOCK (want all of UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK on the claimed table)

-- name: ClaimRun :one
DECLARE @claimed TABLE (id NVARCHAR(36) NOT NULL);
WITH next AS (
    SELECT TOP (1) r.id
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK)
    WHERE r.status = N'queued'
    ORDER BY r.available_at, r.created_at
)
UPDATE runs SET status = N'running', claimed_by = @worker_id
OUTPUT inserted.id INTO @claimed
FROM runs JOIN next ON next.id = runs.id;
SELECT id FROM @claimed;
