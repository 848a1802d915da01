-- Test-only: the API's document updates, to exercise the triggers.
UPDATE documents SET version = version + 1, deleted_at = ?2, updated_at = ?3 WHERE id = ?1;
