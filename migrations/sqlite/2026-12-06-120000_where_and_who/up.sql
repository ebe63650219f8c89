-- SQLite twin of migrations/postgres.
-- Where and who: each security event keeps the client's device id (`X-Device-Id`) and the place its IP
-- resolved to (GEOIP_DATABASE), so a user's history shows where a login came from and a login can be told
-- new by its device and its country.
ALTER TABLE security_events ADD COLUMN device_id varchar(255);
ALTER TABLE security_events ADD COLUMN location_city varchar(100);
ALTER TABLE security_events ADD COLUMN location_country varchar(100);
-- The new-device check reads one user's successful logins of the last KNOWN_DEVICE_DAYS, newest first.
CREATE INDEX ix_security_events_user_logins ON security_events (user_id, occurred_at DESC)
    WHERE kind = 'login_succeeded';
