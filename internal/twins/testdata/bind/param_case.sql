-- want: param_case.sql:5: CountRuns: names @Status, which the SQLite query does not have (names are matched exactly: did you mean @status?)
-- want: param_case.sql:4: CountRuns: leaves out @status (parameter 1 of the SQLite query)

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @Status;
