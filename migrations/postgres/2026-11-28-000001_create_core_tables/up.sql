-- Core tables: the reference's users, user_sessions, organizations and user_organizations, plus
-- Latchkey's session-security columns and security_events.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           varchar(255) NOT NULL,
    password_hash   varchar(255),
    first_name      varchar(100) NOT NULL,
    last_name       varchar(100),
    phone_number    varchar(20),
    is_active       boolean NOT NULL DEFAULT true,
    is_superuser    boolean NOT NULL DEFAULT false,
    preferences     jsonb,
    locale          varchar(10),
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- Emails are stored normalised to lower case, so a plain unique index is case-insensitive.
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE INDEX ix_users_is_active ON users (is_active);
CREATE INDEX ix_users_is_superuser ON users (is_superuser);
CREATE INDEX ix_users_locale ON users (locale);
CREATE INDEX ix_users_deleted_at ON users (deleted_at);
CREATE INDEX ix_users_created_at ON users (created_at);

CREATE TABLE user_sessions (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_jti    varchar(255) NOT NULL,
    previous_refresh_jti varchar(255),
    rotated_at           timestamptz,
    device_name          varchar(255),
    device_id            varchar(255),
    ip_address           varchar(45),
    user_agent           varchar(500),
    last_used_at         timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    absolute_expires_at  timestamptz NOT NULL,
    is_active            boolean NOT NULL DEFAULT true,
    revoked_at           timestamptz,
    revoked_reason       varchar(50),
    location_city        varchar(100),
    location_country     varchar(100),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX ix_user_sessions_refresh_token_jti ON user_sessions (refresh_token_jti);
-- "Active sessions of a user, most recently used first" (session list, eviction, revoke-all).
CREATE INDEX ix_user_sessions_user_active_last_used ON user_sessions (user_id, last_used_at DESC) WHERE is_active;
CREATE INDEX ix_user_sessions_user_id ON user_sessions (user_id);
-- Cleanup: sessions that expired, and sessions that were revoked, before a cutoff.
CREATE INDEX ix_user_sessions_expires_at ON user_sessions (expires_at);
CREATE INDEX ix_user_sessions_revoked_at ON user_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX ix_user_sessions_inactive_updated ON user_sessions (updated_at) WHERE NOT is_active;

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        varchar(255) NOT NULL,
    slug        varchar(255) NOT NULL,
    description text,
    is_active   boolean NOT NULL DEFAULT true,
    settings    jsonb,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX ix_organizations_slug ON organizations (slug);
CREATE INDEX ix_organizations_name ON organizations (name);
CREATE INDEX ix_organizations_is_active ON organizations (is_active);
CREATE INDEX ix_organizations_created_at ON organizations (created_at);

CREATE TABLE user_organizations (
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role               varchar(20) NOT NULL DEFAULT 'member'
                       CHECK (role IN ('owner', 'admin', 'member', 'guest')),
    is_active          boolean NOT NULL DEFAULT true,
    custom_permissions varchar(500),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX ix_user_org_user_active ON user_organizations (user_id, is_active);
CREATE INDEX ix_user_org_org_active ON user_organizations (organization_id, is_active);

CREATE TABLE security_events (
    id           uuid PRIMARY KEY,
    user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
    session_id   uuid,
    kind         varchar(50) NOT NULL,
    ip_address   varchar(45),
    user_agent   varchar(500),
    device_name  varchar(255),
    detail       jsonb,
    occurred_at  timestamptz NOT NULL
);
-- "Events of a user, newest first" (session history) and retention deletes.
CREATE INDEX ix_security_events_user_occurred ON security_events (user_id, occurred_at DESC);
CREATE INDEX ix_security_events_occurred_at ON security_events (occurred_at);
