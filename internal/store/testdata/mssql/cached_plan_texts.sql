-- Test-only: the text of every cached plan of one statement, @p1 being a
-- piece of its "-- name:" line. A parameterized statement's cached text
-- starts with its parameter declarations, "(@p1 nvarchar(max),@p2 ...)".
-- Needs VIEW SERVER STATE (the SQL Server container's sa has it).
SELECT st.text
FROM sys.dm_exec_cached_plans AS cp
CROSS APPLY sys.dm_exec_sql_text(cp.plan_handle) AS st
WHERE st.text LIKE N'%' + @p1 + N'%'
  AND st.text NOT LIKE N'%sys.dm_exec_cached_plans%';
