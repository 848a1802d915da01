-- T-SQL twin of sql/queries/sqlite/wake.sql.

-- name: DataVersion :one
-- SQL Server has no cheap commit counter; the worker polls by claim there
-- (ADE_WORKER_POLL_INTERVAL .. ADE_WORKER_POLL_INTERVAL_MAX) and never sends
-- this. It returns a constant so the twin set stays complete.
SELECT CAST(0 AS BIGINT) AS data_version;
