-- Test-only: replace a queued run's run_options, as an API that did not
-- validate them would have stored them.
UPDATE runs SET run_options = @run_options WHERE id = @id;
