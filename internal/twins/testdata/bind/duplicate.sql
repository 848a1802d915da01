-- want: duplicate.sql:6: CountRuns: twin defined twice (first at testdata/bind/duplicate.sql:3)

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;

-- name: CountRuns :one
SELECT COUNT(*) AS total FROM runs WHERE status = @status;
