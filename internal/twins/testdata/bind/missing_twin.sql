-- queries: CountRuns, AcquireLock
-- want: AcquireLock: has no T-SQL twin

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;
