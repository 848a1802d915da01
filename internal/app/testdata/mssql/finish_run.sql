-- Test-only: mark a run terminal (@status succeeded or failed), completed
-- @completed_days_ago days before the database clock.
UPDATE runs
SET status = @status,
    completed_at = DATEADD(SECOND, -CAST(@completed_days_ago * 86400 AS INT), SYSUTCDATETIME()),
    claimed_by = NULL,
    claim_expires_at = NULL
WHERE id = @id;
