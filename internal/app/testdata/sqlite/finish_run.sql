-- Test-only: mark a run terminal (@status succeeded or failed), completed
-- @completed_days_ago days before the database clock.
UPDATE runs
SET status = @status,
    completed_at = strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || CAST(@completed_days_ago AS REAL) || ' days'),
    claimed_by = NULL,
    claim_expires_at = NULL
WHERE id = @id;
