-- The checkpoint that lets a long WAL start over (see checkpoint.go). The
-- worker runs it holding its own write lock. RESTART waits, up to the
-- connection's busy_timeout, for other writers and for the readers still
-- reading the WAL, copies every frame, and leaves the WAL so that the next
-- write starts it from its beginning. If the wait runs out it copies what
-- it can, like PASSIVE, and says busy (1) in the first column of its row:
-- (busy, frames in the WAL, frames copied).
PRAGMA wal_checkpoint(RESTART);
