-- commit.sql plus one pg_notify, as each of the session cache's triggers sends: the COMMIT takes the
-- cluster-wide lock that keeps the notification queue in commit order (PostgreSQL's async.c,
-- PreCommit_Notify) and holds it until the commit is flushed and done, so notifying commits flush one
-- after another.
BEGIN;
UPDATE lk_tick SET n = n + 1 WHERE id = :client_id;
SELECT pg_notify('latchkey_auth_cache', 'u 00000000-0000-4000-8000-000000000001 0');
COMMIT;
