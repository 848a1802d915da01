-- want: declare_param.sql:5: DeleteRunFields: DECLAREs @run_id, which is a parameter of the query
-- want: declare_param.sql:4: DeleteRunFields: leaves out @run_id (parameter 1 of the SQLite query)

-- name: DeleteRunFields :exec
DECLARE @run_id NVARCHAR(36) = N'x';
DELETE FROM run_fields WHERE run_id = @run_id;
