-- The claim shape of the design: hints on the picked table, ORDER BY, OUTPUT.

-- name: ClaimEnvironment :one
WITH next AS (
    SELECT TOP (1) *
    FROM environments WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE status = N'queued'
    ORDER BY available_at, created_at
)
UPDATE next
SET status = N'building', claimed_by = @worker_id
OUTPUT inserted.id, inserted.workspace_id;
