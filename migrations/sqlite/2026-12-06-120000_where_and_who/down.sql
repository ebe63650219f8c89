DROP INDEX ix_security_events_user_logins;
ALTER TABLE security_events DROP COLUMN location_country;
ALTER TABLE security_events DROP COLUMN location_city;
ALTER TABLE security_events DROP COLUMN device_id;
