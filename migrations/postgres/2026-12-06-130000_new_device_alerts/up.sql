-- New-device alerts and "not me".
-- An account that has logged in at least once: its first login is never alerted (there is nothing to
-- compare it with), and the mark outlives the events that EVENT_RETENTION_DAYS deletes, so a dormant
-- account's next login is still judged. Backfilled from the logins and sessions already recorded.
CREATE TABLE account_logins (
    user_id        uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    first_login_at timestamptz NOT NULL
);
INSERT INTO account_logins (user_id, first_login_at)
SELECT user_id, MIN(at) FROM (
    SELECT user_id, occurred_at AS at FROM security_events WHERE kind = 'login_succeeded' AND user_id IS NOT NULL
    UNION ALL
    SELECT user_id, created_at AS at FROM user_sessions
) AS logins
WHERE user_id IN (SELECT id FROM users)
GROUP BY user_id;
-- The "not me" answers: one row per alert answered, so each alert's link works once.
CREATE TABLE not_me_answers (
    alert_id    uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    session_id  uuid NOT NULL,
    answered_at timestamptz NOT NULL
);
CREATE INDEX ix_not_me_answers_answered_at ON not_me_answers (answered_at);
