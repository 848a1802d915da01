-- Test-only: point a document at another stored_uri, as a careless or
-- hostile API row might.
UPDATE documents SET stored_uri = @stored_uri WHERE id = @id;
