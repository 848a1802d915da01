-- Test-only: the locks this session holds on @p1 (a table name): its key
-- and row locks, those of them still in update (U) mode (rows read under
-- UPDLOCK and never written), and any lock on the table itself other than
-- the intent locks a row lock sits under (an escalated S, U or X lock).
-- Needs VIEW SERVER STATE (the SQL Server container's sa has it).
SELECT
    COALESCE(SUM(CASE WHEN l.resource_type IN (N'KEY', N'RID') THEN 1 ELSE 0 END), 0) AS row_locks,
    COALESCE(SUM(CASE WHEN l.resource_type IN (N'KEY', N'RID') AND l.request_mode = N'U' THEN 1 ELSE 0 END), 0) AS update_locks,
    COALESCE(SUM(CASE WHEN l.resource_type = N'OBJECT' AND l.request_mode NOT IN (N'IS', N'IU', N'IX')
        THEN 1 ELSE 0 END), 0) AS table_locks
FROM sys.dm_tran_locks AS l
LEFT JOIN sys.partitions AS p ON p.hobt_id = l.resource_associated_entity_id
WHERE l.request_session_id = @@SPID
  AND l.resource_database_id = DB_ID()
  AND (p.object_id = OBJECT_ID(@p1)
       OR (l.resource_type = N'OBJECT' AND l.resource_associated_entity_id = OBJECT_ID(@p1)));
