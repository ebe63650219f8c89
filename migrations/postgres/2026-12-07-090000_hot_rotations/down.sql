-- Recreating the unique jti index fails if two sessions ever came to hold one jti (nothing prevents it
-- after the up migration; with random v4 UUIDs it does not happen).
DROP INDEX ix_user_sessions_inactive_unrevoked;
DROP INDEX ix_user_sessions_expiry_day;
ALTER TABLE user_sessions DROP COLUMN expiry_day;
ALTER TABLE user_sessions RESET (fillfactor);

CREATE UNIQUE INDEX ix_user_sessions_refresh_token_jti ON user_sessions (refresh_token_jti);
CREATE INDEX ix_user_sessions_user_active_last_used ON user_sessions (user_id, last_used_at DESC) WHERE is_active;
CREATE INDEX ix_user_sessions_expires_at ON user_sessions (expires_at);
CREATE INDEX ix_user_sessions_inactive_updated ON user_sessions (updated_at) WHERE NOT is_active;
