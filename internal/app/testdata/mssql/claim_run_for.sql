-- Test-only: a run another worker is running, under a lease of an hour.
UPDATE runs
SET status = N'running',
    claimed_by = @worker_id,
    attempt_count = attempt_count + 1,
    started_at = SYSUTCDATETIME(),
    claim_expires_at = DATEADD(HOUR, 1, SYSUTCDATETIME())
WHERE id = @id;
