-- A migration this binary does not know, as a newer worker would leave it.
INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1);
