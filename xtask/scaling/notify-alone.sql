-- A NOTIFY in a transaction that writes nothing else: it gets an xid but writes no WAL of its own, so
-- its commit is not flushed (PostgreSQL commits such a transaction asynchronously) and it holds the
-- queue's lock only briefly. Compare notify.sql.
BEGIN;
SELECT pg_notify('latchkey_auth_cache', 'u 00000000-0000-4000-8000-000000000001 0');
COMMIT;
