-- want: column_unnamed.sql:4: CountRuns: result column 1 has no name: give it an AS alias

-- name: CountRuns :one
SELECT COUNT_BIG(*) FROM runs WHERE status = @status;
