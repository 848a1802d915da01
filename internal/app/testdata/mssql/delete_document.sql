-- Test-only: a run whose document row is gone.
DELETE FROM documents WHERE id = @id;
