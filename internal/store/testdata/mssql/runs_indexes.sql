-- Test-only: the names of the indexes of runs, in name order.
SELECT name FROM sys.indexes WHERE object_id = OBJECT_ID(N'runs') AND name IS NOT NULL ORDER BY name;
