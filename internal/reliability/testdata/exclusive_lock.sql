-- Held by testdata/holdlock for a while: in WAL mode an exclusive
-- transaction keeps every other writer out (readers still read).
BEGIN EXCLUSIVE;
