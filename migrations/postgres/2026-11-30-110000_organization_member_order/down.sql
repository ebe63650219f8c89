DROP INDEX ix_user_org_org_active_joined;
CREATE INDEX ix_user_org_org_active ON user_organizations (organization_id, is_active);
