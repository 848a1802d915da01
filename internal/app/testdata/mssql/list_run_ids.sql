-- Every run's id (tests list the runs they queued).
SELECT id FROM runs ORDER BY id;
