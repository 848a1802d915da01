-- The configuration row enqueue wrote (no generated query reads it).
SELECT workspace_id, status FROM configurations WHERE id = ?;
