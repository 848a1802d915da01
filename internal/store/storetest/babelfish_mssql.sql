-- Test-only: 1 when the T-SQL server is Babelfish for PostgreSQL, which
-- says so at the start of @@VERSION, and 0 on SQL Server and Azure SQL.
SELECT CASE WHEN @@VERSION LIKE N'Babelfish%' THEN 1 ELSE 0 END AS is_babelfish;
