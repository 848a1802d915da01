-- How many result rows each run has, for the check that a succeeded run's
-- results were written exactly once.
SELECT r.id, r.status,
       (SELECT COUNT(*) FROM run_metrics m WHERE m.run_id = r.id) AS metrics,
       (SELECT COUNT(*) FROM run_fields f WHERE f.run_id = r.id) AS fields,
       (SELECT COUNT(*) FROM run_table_columns c WHERE c.run_id = r.id) AS columns
FROM runs AS r
ORDER BY r.id;
