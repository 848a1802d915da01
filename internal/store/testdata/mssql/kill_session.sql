-- Test-only: end session @p1 at once, as a failover or a dropped network
-- connection would (KILL takes no variable, hence the EXEC).
DECLARE @sql NVARCHAR(40) = N'KILL ' + CAST(@p1 AS NVARCHAR(20)) + N';';
EXEC (@sql);
