-- Test-only: how many requests session @p1 blocks right now. Needs VIEW
-- SERVER STATE (the SQL Server container's sa has it).
SELECT COUNT(*) FROM sys.dm_exec_requests WHERE blocking_session_id = @p1;
