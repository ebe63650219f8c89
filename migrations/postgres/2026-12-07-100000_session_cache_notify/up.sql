-- The session cache's invalidation: each node keeps the sessions and users it admitted in memory and
-- LISTENs on `latchkey_auth_cache`; these triggers say which to forget. They fire only when a change can
-- refuse or alter a cached answer (or a user's cached list of sessions), never on a refresh-token rotation
-- or a "last used" write (a NOTIFY serializes commits). Payload: `s <session id> <user id> <t>`,
-- `u <user id> <t>` or `l <user id> <t>` (a user's list changed: a new session), with `t` the database's
-- clock in seconds since the epoch (so a listener can measure how late it hears).

CREATE FUNCTION latchkey_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at text := extract(epoch FROM clock_timestamp())::text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new session: its user's list of sessions changed.
        PERFORM pg_notify('latchkey_auth_cache', 'l ' || NEW.user_id::text || ' ' || at);
        RETURN NULL;
    END IF;
    PERFORM pg_notify('latchkey_auth_cache', 's ' || OLD.id::text || ' ' || OLD.user_id::text || ' ' || at);
    IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        PERFORM pg_notify('latchkey_auth_cache', 'l ' || NEW.user_id::text || ' ' || at);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION latchkey_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latchkey_auth_cache',
        'u ' || OLD.id::text || ' ' || extract(epoch FROM clock_timestamp())::text);
    RETURN NULL;
END $$;

-- A session ended (or came back), changed hands or id, was renamed, or its expiry moved earlier. A
-- rotation only moves the expiry later: a cached answer keeps the earlier one and is simply read again
-- when it passes.
CREATE TRIGGER tr_user_sessions_notify_update
    AFTER UPDATE ON user_sessions FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.id IS DISTINCT FROM NEW.id
          OR OLD.device_name IS DISTINCT FROM NEW.device_name
          OR NEW.expires_at < OLD.expires_at)
    EXECUTE FUNCTION latchkey_notify_session();

CREATE TRIGGER tr_user_sessions_notify_insert
    AFTER INSERT ON user_sessions FOR EACH ROW
    EXECUTE FUNCTION latchkey_notify_session();

CREATE TRIGGER tr_user_sessions_notify_delete
    AFTER DELETE ON user_sessions FOR EACH ROW
    EXECUTE FUNCTION latchkey_notify_session();

-- Any change to a user row: every column is shown by `GET /users/me` or read by the check, and nothing
-- writes users on a hot path.
CREATE TRIGGER tr_users_notify_update
    AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION latchkey_notify_user();

CREATE TRIGGER tr_users_notify_delete
    AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION latchkey_notify_user();
