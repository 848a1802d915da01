-- Test-only: a fresh, empty database for one live test, with
-- READ_COMMITTED_SNAPSHOT ON when @p2 is 1 (Azure SQL's default) and OFF
-- otherwise (a new SQL Server database's default). @p1 is its name.
-- Babelfish has no ALTER DATABASE and no read committed snapshot: there the
-- database is only created (MSSQLFresh never asks it for snapshot on).
DECLARE @sql NVARCHAR(400) = N'CREATE DATABASE ' + QUOTENAME(@p1) + N';';
EXEC (@sql);
IF @@VERSION NOT LIKE N'Babelfish%'
BEGIN
    SET @sql = N'ALTER DATABASE ' + QUOTENAME(@p1) + N' SET READ_COMMITTED_SNAPSHOT '
        + CASE WHEN @p2 = 1 THEN N'ON' ELSE N'OFF' END + N' WITH ROLLBACK IMMEDIATE;';
    EXEC (@sql);
END;
