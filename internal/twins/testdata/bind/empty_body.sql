-- want: empty_body.sql:3: CountRuns: has no SQL after its header

-- name: CountRuns :one
-- only a comment
