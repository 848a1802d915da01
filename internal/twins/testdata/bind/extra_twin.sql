-- queries: CountRuns
-- want: extra_twin.sql:7: CountQueued: twin has no SQLite query of this name

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;

-- name: CountQueued :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = N'queued';
