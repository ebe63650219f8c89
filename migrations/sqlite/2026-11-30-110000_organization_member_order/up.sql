-- Member lists filter by organization and membership state and show the newest memberships first; with
-- created_at in the index that is an index range scan with no sort. The old two-column index is a prefix
-- of this one, so it goes.
DROP INDEX ix_user_org_org_active;
CREATE INDEX ix_user_org_org_active_joined ON user_organizations (organization_id, is_active, created_at);
