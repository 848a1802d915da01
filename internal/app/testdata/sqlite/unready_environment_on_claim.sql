-- Test-only (SQLite): as soon as a run is claimed, its environment stops
-- being ready, as another session's change between the claim's statements
-- could do on SQL Server. The claim's own transaction makes the change, so
-- a rollback undoes it too.
CREATE TRIGGER test_unready_environment_on_claim
AFTER UPDATE OF status ON runs
WHEN NEW.status = 'running'
BEGIN
    UPDATE environments
    SET status = 'building'
    WHERE workspace_id = NEW.workspace_id
      AND configuration_id = NEW.configuration_id
      AND engine_spec = NEW.engine_spec
      AND deps_digest = NEW.deps_digest;
END;
