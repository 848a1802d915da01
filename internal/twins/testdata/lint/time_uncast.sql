-- want: time_uncast.sql:6: ListRuns: uses time parameter @now without CAST(@now AS DATETIME2)
-- want: time_uncast.sql:7: ListRuns: uses time parameter @due_before without CAST(@due_before AS DATETIME2)
-- want: time_uncast.sql:8: ListRuns: uses time parameter @gc_cutoff without CAST(@gc_cutoff AS DATETIME2)

-- name: ListRuns :many
SELECT id FROM runs WHERE available_at <= COALESCE(@now, SYSUTCDATETIME())
  AND created_at < CONVERT(DATETIME2, @due_before)
  AND completed_at < CAST(@gc_cutoff AS DATETIME)
  AND started_at > CAST(@now AS DATETIME2);
