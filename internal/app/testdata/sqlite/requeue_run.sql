-- Test-only: put a running run back in the queue, due now, as an operator
-- (or a sweep that judged its lease expired) would: unclaimed, its attempt
-- kept.
UPDATE runs
SET status = 'queued',
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', 'now')
WHERE id = @id AND status = 'running';
