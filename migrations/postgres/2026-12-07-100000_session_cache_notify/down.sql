DROP TRIGGER tr_users_notify_delete ON users;
DROP TRIGGER tr_users_notify_update ON users;
DROP TRIGGER tr_user_sessions_notify_insert ON user_sessions;
DROP TRIGGER tr_user_sessions_notify_delete ON user_sessions;
DROP TRIGGER tr_user_sessions_notify_update ON user_sessions;
DROP FUNCTION latchkey_notify_user();
DROP FUNCTION latchkey_notify_session();
