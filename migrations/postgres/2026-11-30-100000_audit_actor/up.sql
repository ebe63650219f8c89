-- The audit trail of administrative actions. `security_events.user_id` stays "whose account this concerns"
-- (the event shows in that user's history); `actor_id` is the administrator who acted (NULL when the user
-- acted on their own account or the system did); `organization_id` names the organization an action
-- concerned. Neither has a foreign key: the trail must outlive hard-deleted organizations, and it records
-- what happened, not what exists now.
ALTER TABLE security_events ADD COLUMN actor_id uuid;
ALTER TABLE security_events ADD COLUMN organization_id uuid;
CREATE INDEX ix_security_events_actor_occurred ON security_events (actor_id, occurred_at DESC)
    WHERE actor_id IS NOT NULL;
CREATE INDEX ix_security_events_org_occurred ON security_events (organization_id, occurred_at DESC)
    WHERE organization_id IS NOT NULL;

-- The user lists (`GET /users`, `GET /admin/users`) show live users in creation order by default: this
-- index serves that order and the count without touching soft-deleted rows.
CREATE INDEX ix_users_live_created ON users (created_at, id) WHERE deleted_at IS NULL;

-- Case-insensitive user search folds names with lk_lower(): here it is lower(). SQLite's lower() folds ASCII
-- only, so on SQLite Latchkey registers its own lk_lower() on every connection instead.
CREATE FUNCTION lk_lower(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower($1) $$;
