-- SQLite twin of migrations/postgres: timestamptz is TEXT (see latchkey-db types.rs).
-- The per-account login throttle: one counter row per account key (a keyed hash of the normalised email,
-- so emails that belong to no account are counted too, and no address is stored) and window. A login
-- reserves its attempt with one atomic upsert before any password is verified, so concurrent logins can
-- never verify more passwords than the limit allows.
CREATE TABLE login_throttle (
    account_key  varchar(64) PRIMARY KEY,
    window_start TEXT NOT NULL,
    attempts     INTEGER NOT NULL
);
-- Cleanup: windows that ended.
CREATE INDEX ix_login_throttle_window_start ON login_throttle (window_start);
