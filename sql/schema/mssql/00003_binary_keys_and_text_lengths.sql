-- Key columns that compare as SQLite compares them, and result text as long
-- on SQL Server as on SQLite (T-SQL dialect).
--
-- Collation. A new database's default collation is case-insensitive, and
-- SQLite compares text byte for byte. So on SQL Server a run summary with
-- the fields Email and email broke the ack (duplicate key on pk_run_fields)
-- on every attempt, and two environment keys that differ only in case (an
-- engine path, a digest in base64) were one environment. These columns now
-- use Latin1_General_100_BIN2, which compares code points as SQLite does:
--   run_fields.field (the key of a run's fields), run_table_columns
--   .mapped_field (which names a field), and engine_spec and deps_digest of
--   environments and runs (the environment key; the two tables are joined
--   on it, so both sides change).
-- The ids keep the database's collation: UUID text means the same in any
-- case, the API and the worker write it in lower case, and changing it
-- would rebuild every primary key of every table.
--
-- Lengths. Free text of a run summary was NVARCHAR(100) or (1000) here and
-- unbounded on SQLite, and the result inserts cut it silently (OPENJSON's
-- WITH types); a longer value stopped the ack. Labels, names, reasons,
-- methods and outcomes are NVARCHAR(4000) now, on both dialects the worker
-- stores at most 4,000 characters of them and at most 400 of a field name
-- (the key), and leaves out a longer value, saying so in the run's events
-- (see internal/results). Widening an NVARCHAR needs no row rewrite.
--
-- Cost: changing a collation needs the indexes and keys on the column
-- dropped and built again: uq_environments_key, pk_run_fields (the
-- clustered key of run_fields), ix_runs_claim and ix_runs_status_key. All of
-- it runs in goose's transaction, so it applies whole or not at all, and
-- holds those tables for the time the rebuilds take: on a large runs or
-- run_fields table, migrate in a quiet moment (`ade-worker migrate up`).
--
-- Babelfish (the T-SQL engine the live suite also runs on) has neither
-- ALTER COLUMN ... COLLATE nor NULL / NOT NULL in ALTER COLUMN: there each
-- column is rebuilt as a new column, copied, and renamed (left nullable,
-- except field, which its primary key keeps NOT NULL). Both ways are
-- dynamic SQL because Babelfish refuses the first at parse time even in a
-- branch it never runs.

-- +goose Up
DROP INDEX ix_runs_claim ON runs;
DROP INDEX ix_runs_status_key ON runs;
ALTER TABLE environments DROP CONSTRAINT uq_environments_key;
ALTER TABLE run_fields DROP CONSTRAINT pk_run_fields;

-- +goose StatementBegin
IF SERVERPROPERTY('Babelfish') IS NULL
BEGIN
    -- Statistics on a column stop a change of its collation (the indexes
    -- are dropped above; these are the ones SQL Server made by itself, or an
    -- operator with CREATE STATISTICS). SQL Server makes them again when a
    -- query needs them.
    DECLARE @drop NVARCHAR(MAX) = N'';
    SELECT @drop = @drop + N'DROP STATISTICS ' + QUOTENAME(d.tab) + N'.' + QUOTENAME(d.stat) + N';'
    FROM (
        SELECT DISTINCT OBJECT_NAME(st.object_id) AS tab, st.name AS stat
        FROM sys.stats AS st
        JOIN sys.stats_columns AS sc ON sc.object_id = st.object_id AND sc.stats_id = st.stats_id
        JOIN sys.columns AS c ON c.object_id = sc.object_id AND c.column_id = sc.column_id
        WHERE (st.auto_created = 1 OR st.user_created = 1)
          AND ((st.object_id IN (OBJECT_ID(N'environments'), OBJECT_ID(N'runs')) AND c.name IN (N'engine_spec', N'deps_digest'))
               OR (st.object_id = OBJECT_ID(N'run_fields') AND c.name = N'field')
               OR (st.object_id = OBJECT_ID(N'run_table_columns') AND c.name = N'mapped_field'))
    ) AS d;
    EXEC (@drop);
    EXEC (N'ALTER TABLE environments ALTER COLUMN engine_spec NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL;');
    EXEC (N'ALTER TABLE environments ALTER COLUMN deps_digest NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL;');
    EXEC (N'ALTER TABLE runs ALTER COLUMN engine_spec NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL;');
    EXEC (N'ALTER TABLE runs ALTER COLUMN deps_digest NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL;');
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN field NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapped_field NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NULL;');
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN label NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN workbook_name NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN sheet_name NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapping_method NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN unmapped_reason NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN evaluation_outcome NVARCHAR(4000) NULL;');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN validation_max_severity NVARCHAR(4000) NULL;');
END
ELSE
BEGIN
    DECLARE @binary TABLE (n INT IDENTITY(1, 1) PRIMARY KEY, tab SYSNAME, col SYSNAME, typ NVARCHAR(40));
    INSERT INTO @binary (tab, col, typ) VALUES
        (N'environments', N'engine_spec', N'NVARCHAR(400)'), (N'environments', N'deps_digest', N'NVARCHAR(200)'),
        (N'runs', N'engine_spec', N'NVARCHAR(400)'), (N'runs', N'deps_digest', N'NVARCHAR(200)'),
        (N'run_fields', N'field', N'NVARCHAR(400)'), (N'run_table_columns', N'mapped_field', N'NVARCHAR(400)');
    DECLARE @i INT = 1, @tab SYSNAME, @col SYSNAME, @typ NVARCHAR(40), @sql NVARCHAR(1000), @old NVARCHAR(300);
    WHILE @i <= (SELECT COUNT(*) FROM @binary)
    BEGIN
        SELECT @tab = b.tab, @col = b.col, @typ = b.typ FROM @binary AS b WHERE b.n = @i;
        SET @sql = N'ALTER TABLE ' + QUOTENAME(@tab) + N' ADD ' + QUOTENAME(@col + N'__bin2') + N' ' + @typ
            + N' COLLATE Latin1_General_100_BIN2 NULL;';
        EXEC (@sql);
        SET @sql = N'UPDATE ' + QUOTENAME(@tab) + N' SET ' + QUOTENAME(@col + N'__bin2') + N' = ' + QUOTENAME(@col) + N';';
        EXEC (@sql);
        SET @sql = N'ALTER TABLE ' + QUOTENAME(@tab) + N' DROP COLUMN ' + QUOTENAME(@col) + N';';
        EXEC (@sql);
        SET @old = @tab + N'.' + @col + N'__bin2';
        EXEC sp_rename @old, @col, N'COLUMN';
        SET @i = @i + 1;
    END;
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN label NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN workbook_name NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN sheet_name NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapping_method NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN unmapped_reason NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN evaluation_outcome NVARCHAR(4000);');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN validation_max_severity NVARCHAR(4000);');
END;
-- +goose StatementEnd

ALTER TABLE run_fields ADD CONSTRAINT pk_run_fields PRIMARY KEY (run_id, field);
ALTER TABLE environments ADD CONSTRAINT uq_environments_key UNIQUE (workspace_id, configuration_id, engine_spec, deps_digest);
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at)
    INCLUDE (attempt_count, max_attempts, workspace_id, configuration_id, engine_spec, deps_digest);
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);

-- +goose Down
-- Back to the database's collation and the old lengths. This fails, and
-- changes nothing, when the data needs what 00003 gave: two fields or two
-- environment keys that differ only in case, or text past the old lengths.
DROP INDEX ix_runs_claim ON runs;
DROP INDEX ix_runs_status_key ON runs;
ALTER TABLE environments DROP CONSTRAINT uq_environments_key;
ALTER TABLE run_fields DROP CONSTRAINT pk_run_fields;

-- +goose StatementBegin
IF SERVERPROPERTY('Babelfish') IS NULL
BEGIN
    -- Statistics on a column stop a change of its collation (the indexes
    -- are dropped above; these are the ones SQL Server made by itself, or an
    -- operator with CREATE STATISTICS). SQL Server makes them again when a
    -- query needs them.
    DECLARE @drop NVARCHAR(MAX) = N'';
    SELECT @drop = @drop + N'DROP STATISTICS ' + QUOTENAME(d.tab) + N'.' + QUOTENAME(d.stat) + N';'
    FROM (
        SELECT DISTINCT OBJECT_NAME(st.object_id) AS tab, st.name AS stat
        FROM sys.stats AS st
        JOIN sys.stats_columns AS sc ON sc.object_id = st.object_id AND sc.stats_id = st.stats_id
        JOIN sys.columns AS c ON c.object_id = sc.object_id AND c.column_id = sc.column_id
        WHERE (st.auto_created = 1 OR st.user_created = 1)
          AND ((st.object_id IN (OBJECT_ID(N'environments'), OBJECT_ID(N'runs')) AND c.name IN (N'engine_spec', N'deps_digest'))
               OR (st.object_id = OBJECT_ID(N'run_fields') AND c.name = N'field')
               OR (st.object_id = OBJECT_ID(N'run_table_columns') AND c.name = N'mapped_field'))
    ) AS d;
    EXEC (@drop);
    EXEC (N'ALTER TABLE environments ALTER COLUMN engine_spec NVARCHAR(400) NOT NULL;');
    EXEC (N'ALTER TABLE environments ALTER COLUMN deps_digest NVARCHAR(200) NOT NULL;');
    EXEC (N'ALTER TABLE runs ALTER COLUMN engine_spec NVARCHAR(400) NOT NULL;');
    EXEC (N'ALTER TABLE runs ALTER COLUMN deps_digest NVARCHAR(200) NOT NULL;');
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN field NVARCHAR(400) NOT NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapped_field NVARCHAR(400) NULL;');
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN label NVARCHAR(1000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN workbook_name NVARCHAR(1000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN sheet_name NVARCHAR(1000) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapping_method NVARCHAR(100) NULL;');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN unmapped_reason NVARCHAR(1000) NULL;');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN evaluation_outcome NVARCHAR(100) NULL;');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN validation_max_severity NVARCHAR(100) NULL;');
END
ELSE
BEGIN
    DECLARE @binary TABLE (n INT IDENTITY(1, 1) PRIMARY KEY, tab SYSNAME, col SYSNAME, typ NVARCHAR(40));
    INSERT INTO @binary (tab, col, typ) VALUES
        (N'environments', N'engine_spec', N'NVARCHAR(400)'), (N'environments', N'deps_digest', N'NVARCHAR(200)'),
        (N'runs', N'engine_spec', N'NVARCHAR(400)'), (N'runs', N'deps_digest', N'NVARCHAR(200)'),
        (N'run_fields', N'field', N'NVARCHAR(400)'), (N'run_table_columns', N'mapped_field', N'NVARCHAR(400)');
    DECLARE @i INT = 1, @tab SYSNAME, @col SYSNAME, @typ NVARCHAR(40), @sql NVARCHAR(1000), @old NVARCHAR(300);
    WHILE @i <= (SELECT COUNT(*) FROM @binary)
    BEGIN
        SELECT @tab = b.tab, @col = b.col, @typ = b.typ FROM @binary AS b WHERE b.n = @i;
        SET @sql = N'ALTER TABLE ' + QUOTENAME(@tab) + N' ADD ' + QUOTENAME(@col + N'__ci') + N' ' + @typ + N' NULL;';
        EXEC (@sql);
        SET @sql = N'UPDATE ' + QUOTENAME(@tab) + N' SET ' + QUOTENAME(@col + N'__ci') + N' = ' + QUOTENAME(@col) + N';';
        EXEC (@sql);
        SET @sql = N'ALTER TABLE ' + QUOTENAME(@tab) + N' DROP COLUMN ' + QUOTENAME(@col) + N';';
        EXEC (@sql);
        SET @old = @tab + N'.' + @col + N'__ci';
        EXEC sp_rename @old, @col, N'COLUMN';
        SET @i = @i + 1;
    END;
    EXEC (N'ALTER TABLE run_fields ALTER COLUMN label NVARCHAR(1000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN workbook_name NVARCHAR(1000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN sheet_name NVARCHAR(1000);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN mapping_method NVARCHAR(100);');
    EXEC (N'ALTER TABLE run_table_columns ALTER COLUMN unmapped_reason NVARCHAR(1000);');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN evaluation_outcome NVARCHAR(100);');
    EXEC (N'ALTER TABLE run_metrics ALTER COLUMN validation_max_severity NVARCHAR(100);');
END;
-- +goose StatementEnd

ALTER TABLE run_fields ADD CONSTRAINT pk_run_fields PRIMARY KEY (run_id, field);
ALTER TABLE environments ADD CONSTRAINT uq_environments_key UNIQUE (workspace_id, configuration_id, engine_spec, deps_digest);
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at)
    INCLUDE (attempt_count, max_attempts, workspace_id, configuration_id, engine_spec, deps_digest);
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);
