-- want: unknown_param.sql:5: CountRuns: names @state, which the SQLite query does not have (it has @status)
-- want: unknown_param.sql:4: CountRuns: leaves out @status (parameter 1 of the SQLite query)

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @state;
