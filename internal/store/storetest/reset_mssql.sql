-- Empties every worker table between live-suite tests (test-only; never
-- compiled into the worker).
DELETE FROM run_table_columns;
DELETE FROM run_fields;
DELETE FROM run_metrics;
DELETE FROM runs;
DELETE FROM document_events;
DELETE FROM documents;
DELETE FROM environments;
DELETE FROM configurations;
