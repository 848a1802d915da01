-- Test-only: a run's timestamps exactly as stored.
SELECT CAST(created_at AS TEXT), CAST(available_at AS TEXT), CAST(started_at AS TEXT),
       CAST(claim_expires_at AS TEXT)
FROM runs WHERE id = ?;
