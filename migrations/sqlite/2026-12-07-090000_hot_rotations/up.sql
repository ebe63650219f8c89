-- SQLite twin of migrations/postgres (see there for why): the same indexes go and come. SQLite has no HOT
-- updates, but a rotation there no longer rewrites four index entries either. expiry_day is a virtual
-- generated column (SQLite cannot add a stored one), the day prefix of expires_at in Latchkey's text form
-- of a timestamp, so it compares with the bound cutoff like any other time; its index stores the value.
-- SQLite has no fillfactor.

DROP INDEX ix_user_sessions_refresh_token_jti;
DROP INDEX ix_user_sessions_user_active_last_used;
DROP INDEX ix_user_sessions_expires_at;
DROP INDEX ix_user_sessions_inactive_updated;

ALTER TABLE user_sessions ADD COLUMN expiry_day TEXT NOT NULL
    GENERATED ALWAYS AS (substr(expires_at, 1, 10) || ' 00:00:00.000000+00:00') VIRTUAL;

CREATE INDEX ix_user_sessions_expiry_day ON user_sessions (expiry_day);
CREATE INDEX ix_user_sessions_inactive_unrevoked ON user_sessions (created_at)
    WHERE NOT is_active AND revoked_at IS NULL;
