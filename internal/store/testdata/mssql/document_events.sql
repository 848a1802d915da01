-- Test-only: the change feed the triggers fill.
SELECT [cursor], document_id, event_type, document_version FROM document_events ORDER BY [cursor];
