-- Test-only: the tables that exist.
SELECT name FROM sys.tables WHERE is_ms_shipped = 0;
