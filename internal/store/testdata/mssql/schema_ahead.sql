-- Test-only: pretend a newer binary migrated this database.
INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1);
