-- Test-only: a run another worker is running, under a lease of an hour.
UPDATE runs
SET status = 'running',
    claimed_by = @worker_id,
    attempt_count = attempt_count + 1,
    started_at = strftime('%Y-%m-%d %H:%M:%f000', 'now'),
    claim_expires_at = strftime('%Y-%m-%d %H:%M:%f000', 'now', '+1 hours')
WHERE id = @id;
