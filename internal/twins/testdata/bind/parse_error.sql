-- want: parse_error.sql:4: CountRuns: does not parse as T-SQL: unexpected token: FROM

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM FROM runs WHERE status = @status;
