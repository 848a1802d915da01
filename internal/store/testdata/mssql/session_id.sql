-- Test-only: this connection's session id.
SELECT @@SPID AS spid;
