-- want: sql_before_header.sql:1: SQL before the first "-- name:" header belongs to no query
SET NOCOUNT ON;

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;
