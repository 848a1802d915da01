-- Test-only: another worker takes over a running run's claim, with a lease
-- an hour long so no sweep touches it during the test.
UPDATE runs
SET claimed_by = @worker_id,
    claim_expires_at = DATEADD(HOUR, 1, SYSUTCDATETIME())
WHERE id = @id AND status = N'running';
