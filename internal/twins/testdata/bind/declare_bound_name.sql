-- want: declare_bound_name.sql:4: DeleteRunFields: DECLAREs @p1, which collides with the @pN names the parameters are bound to

-- name: DeleteRunFields :exec
DECLARE @p1 INT = 500;
DELETE TOP (@p1) FROM run_fields WHERE run_id = @run_id;
