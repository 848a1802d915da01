-- want: unterminated.sql:4: CountRuns: cannot read the T-SQL: line 1: unterminated string literal

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status AND id = 'x;
