-- Rotations PostgreSQL can afford. A refresh rotates the session's jti and slides its expiry: it writes
-- refresh_token_jti, previous_refresh_jti, rotated_at, expires_at, last_used_at and updated_at. PostgreSQL
-- can make an UPDATE a HOT one (a new row version on the same page, no new index entries, nothing for
-- vacuum to clean in the indexes) only when no column that any index names (key or WHERE) changes value,
-- and every one of those columns was indexed. So no indexed column is written by a rotation any more:
--
-- * The refresh jti loses its unique index. Nothing finds a session by its jti: the refresh's
--   compare-and-swap finds the row by primary key (the token's `sid`) and compares the jti there, and reuse
--   detection compares the presented jti with that row's current and previous ones. The jti is a random
--   v4 UUID (122 random bits) made by the server for one session, so a duplicate would not be found by
--   anything even if one ever happened; what the rotation needs unique — one current jti per session —
--   is the primary key's row.
-- * The session lists (GET /sessions/me, eviction, revoke-all) find a user's sessions through
--   ix_user_sessions_user_id and sort the handful of rows by last use in memory.
-- * Cleanup no longer reads an index on expires_at (which every rotation moves) nor on updated_at. Expired
--   sessions are found through expiry_day, the UTC day of expires_at as a timestamp at midnight: a
--   generated column that a rotation changes only when the sliding expiry crosses midnight UTC (for a
--   session refreshed every 15 minutes, one rotation in 96), so every other rotation stays HOT, and its
--   index narrows "expires_at < cutoff" to the rows expiring before the cutoff's day plus that day.
--   Revoked sessions keep ix_user_sessions_revoked_at; deactivated rows without revoked_at (imported from
--   the reference) get a partial index keyed by created_at, a column nothing updates.
-- * Pages keep 10 % free (fillfactor 90), so a rotation's new row version fits on its page even before
--   pruning has made room there. It applies to the rewrite that adding the stored column makes.
--
-- Adding a stored generated column rewrites the table under an exclusive lock: seconds per million rows.

DROP INDEX ix_user_sessions_refresh_token_jti;
DROP INDEX ix_user_sessions_user_active_last_used;
DROP INDEX ix_user_sessions_expires_at;
DROP INDEX ix_user_sessions_inactive_updated;

ALTER TABLE user_sessions SET (fillfactor = 90);
ALTER TABLE user_sessions ADD COLUMN expiry_day timestamptz NOT NULL
    GENERATED ALWAYS AS (date_trunc('day', expires_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') STORED;

CREATE INDEX ix_user_sessions_expiry_day ON user_sessions (expiry_day);
CREATE INDEX ix_user_sessions_inactive_unrevoked ON user_sessions (created_at)
    WHERE NOT is_active AND revoked_at IS NULL;
