-- The smallest transaction that must flush its commit: one row written (each client its own row of a
-- small table, run.sh's lk_tick), the commit record, the WAL flush. Concurrent commits share flushes
-- (group commit). Compare notify.sql.
BEGIN;
UPDATE lk_tick SET n = n + 1 WHERE id = :client_id;
COMMIT;
