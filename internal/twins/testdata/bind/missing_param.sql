-- A twin that forgets the claim fence would write to a run another worker
-- holds: leaving a parameter out is an error, never a warning.
-- want: missing_param.sql:5: HeartbeatRun: leaves out @worker_id (parameter 4 of the SQLite query)

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = DATEADD(SECOND, @lease_seconds, COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))
WHERE id = @id AND status = N'running';
