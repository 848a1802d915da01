-- Every statement that returns rows is checked, so both branches must agree.
-- want: two_branches.sql:8: CountRuns: returns columns (n) but the generated method scans (total)

-- name: CountRuns :one
IF @status = N'queued'
    SELECT COUNT_BIG(*) AS total FROM runs WHERE status = N'queued';
ELSE
    SELECT COUNT_BIG(*) AS n FROM runs WHERE status = @status;
