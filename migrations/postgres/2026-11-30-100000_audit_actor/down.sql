DROP FUNCTION lk_lower(text);
DROP INDEX ix_users_live_created;
DROP INDEX ix_security_events_org_occurred;
DROP INDEX ix_security_events_actor_occurred;
ALTER TABLE security_events DROP COLUMN organization_id;
ALTER TABLE security_events DROP COLUMN actor_id;
