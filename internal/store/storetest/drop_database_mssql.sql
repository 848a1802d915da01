-- Test-only: drops a database that create_database_mssql.sql made (@p1),
-- closing any connection still open on it (SQL Server; Babelfish has no
-- ALTER DATABASE, and the test has closed its own connections by then).
IF DB_ID(@p1) IS NOT NULL
BEGIN
    DECLARE @sql NVARCHAR(400) = N'DROP DATABASE ' + QUOTENAME(@p1) + N';';
    IF @@VERSION NOT LIKE N'Babelfish%'
        SET @sql = N'ALTER DATABASE ' + QUOTENAME(@p1) + N' SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ' + @sql;
    EXEC (@sql);
END;
