-- Test-only: the API's document updates, to exercise the triggers.
UPDATE documents
SET version = version + 1, deleted_at = CAST(@p2 AS DATETIME2), updated_at = CAST(@p3 AS DATETIME2)
WHERE id = @p1;
