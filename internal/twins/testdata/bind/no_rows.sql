-- want: no_rows.sql:3: CountRuns: is :one but returns no rows: end with a SELECT or an OUTPUT clause returning total

-- name: CountRuns :one
DECLARE @total BIGINT;
SELECT @total = COUNT_BIG(*) FROM runs WHERE status = @status;
