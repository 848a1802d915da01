-- Test-only: the database refuses the run_fields row of a field named
-- "poison" with a constraint error, as a unique key under a
-- case-insensitive collation refuses "Email" beside "email".
CREATE TRIGGER poison_run_fields BEFORE INSERT ON run_fields
WHEN NEW.field = 'poison'
BEGIN
    SELECT RAISE(ABORT, 'poisoned field refused');
END;
