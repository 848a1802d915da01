-- Test-only: put a running run back in the queue, due now, as an operator
-- (or a sweep that judged its lease expired) would: unclaimed, its attempt
-- kept.
UPDATE runs
SET status = N'queued',
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = SYSUTCDATETIME()
WHERE id = @id AND status = N'running';
