-- want: cmd_differs.sql:3: CountRuns: twin is :many but the SQLite query in testdata/good/sql/queries/sqlite/runs.sql is :one

-- name: CountRuns :many
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;
