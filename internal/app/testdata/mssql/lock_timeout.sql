-- Test-only: this session gives up on a lock after 2 s (error 1222) instead
-- of waiting for it.
SET LOCK_TIMEOUT 2000;
