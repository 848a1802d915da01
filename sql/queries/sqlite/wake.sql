-- Idle wake-up.

-- name: DataVersion :one
-- SQLite's change counter for this connection: it moves when another
-- connection commits. An idle worker reads it every few milliseconds on a
-- pinned connection and claims only when it moves, which takes no lock.
SELECT data_version FROM pragma_data_version;
