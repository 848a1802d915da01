-- want: malformed_header.sql:3: malformed header "-- name: CountRuns": want "-- name: <Name> :<cmd>"

-- name: CountRuns
SELECT COUNT_BIG(*) AS total FROM runs WHERE status = @status;
