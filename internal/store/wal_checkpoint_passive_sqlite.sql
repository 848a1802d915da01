-- The background WAL checkpoint of a SQLite store (see checkpoint.go).
-- PASSIVE copies what it can without waiting for any lock: writers go on
-- appending to the WAL meanwhile, and readers are never blocked. The row
-- is (busy, frames in the WAL, frames copied into the database so far).
PRAGMA wal_checkpoint(PASSIVE);
