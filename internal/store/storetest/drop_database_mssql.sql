-- Test-only: drops a database that create_database_mssql.sql made (@p1),
-- closing any connection still open on it.
IF DB_ID(@p1) IS NOT NULL
BEGIN
    DECLARE @sql NVARCHAR(400) = N'ALTER DATABASE ' + QUOTENAME(@p1)
        + N' SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ' + QUOTENAME(@p1) + N';';
    EXEC (@sql);
END;
