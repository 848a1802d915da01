-- Typing aids for sqlc only; never migrated. SQLite provides these
-- eponymous virtual tables itself.

-- pragma_data_version: the connection's data_version counter.
CREATE TABLE pragma_data_version (data_version INTEGER NOT NULL);
