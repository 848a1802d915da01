-- @status in a string literal, a quoted identifier or a comment is no use of
-- the parameter.
-- want: param_only_in_strings.sql:5: CountRuns: leaves out @status (parameter 1 of the SQLite query)

-- name: CountRuns :one
SELECT COUNT_BIG(*) AS total -- filtered on @status
FROM runs /* @status */ WHERE status = N'@status' OR [@status] = 1 OR "@status" = 1;
