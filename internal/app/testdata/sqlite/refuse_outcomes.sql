-- Test-only: the database refuses, with constraint errors, the parts of an
-- outcome a test marks: a table column whose header is "poison", an
-- output_path of output/poison.csv, and the success of a run whose engine
-- exited 99.
CREATE TRIGGER refuse_poison_column BEFORE INSERT ON run_table_columns
WHEN NEW.header_raw = 'poison'
BEGIN
    SELECT RAISE(ABORT, 'column refused');
END;

CREATE TRIGGER refuse_poison_output BEFORE UPDATE OF output_path ON runs
WHEN NEW.output_path = 'output/poison.csv'
BEGIN
    SELECT RAISE(ABORT, 'output path refused');
END;

CREATE TRIGGER refuse_success BEFORE UPDATE OF status ON runs
WHEN NEW.status = 'succeeded' AND NEW.exit_code = 99
BEGIN
    SELECT RAISE(ABORT, 'success refused');
END;
