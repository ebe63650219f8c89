-- SQLite twin of migrations/postgres: uuid, timestamptz and jsonb are TEXT (see latchkey-db types.rs).
-- Core tables: the reference's users, user_sessions, organizations and user_organizations, plus
-- Latchkey's session-security columns and security_events.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           varchar(255) NOT NULL,
    password_hash   varchar(255),
    first_name      varchar(100) NOT NULL,
    last_name       varchar(100),
    phone_number    varchar(20),
    is_active       BOOLEAN NOT NULL DEFAULT 1,
    is_superuser    BOOLEAN NOT NULL DEFAULT 0,
    preferences     TEXT,
    locale          varchar(10),
    deleted_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
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
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_jti    varchar(255) NOT NULL,
    previous_refresh_jti varchar(255),
    rotated_at           TEXT,
    device_name          varchar(255),
    device_id            varchar(255),
    ip_address           varchar(45),
    user_agent           varchar(500),
    last_used_at         TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    absolute_expires_at  TEXT NOT NULL,
    is_active            BOOLEAN NOT NULL DEFAULT 1,
    revoked_at           TEXT,
    revoked_reason       varchar(50),
    location_city        varchar(100),
    location_country     varchar(100),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
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
    id          TEXT PRIMARY KEY,
    name        varchar(255) NOT NULL,
    slug        varchar(255) NOT NULL,
    description text,
    is_active   BOOLEAN NOT NULL DEFAULT 1,
    settings    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX ix_organizations_slug ON organizations (slug);
CREATE INDEX ix_organizations_name ON organizations (name);
CREATE INDEX ix_organizations_is_active ON organizations (is_active);
CREATE INDEX ix_organizations_created_at ON organizations (created_at);

CREATE TABLE user_organizations (
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role               varchar(20) NOT NULL DEFAULT 'member'
                       CHECK (role IN ('owner', 'admin', 'member', 'guest')),
    is_active          BOOLEAN NOT NULL DEFAULT 1,
    custom_permissions varchar(500),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX ix_user_org_user_active ON user_organizations (user_id, is_active);
CREATE INDEX ix_user_org_org_active ON user_organizations (organization_id, is_active);

CREATE TABLE security_events (
    id           TEXT PRIMARY KEY,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id   TEXT,
    kind         varchar(50) NOT NULL,
    ip_address   varchar(45),
    user_agent   varchar(500),
    device_name  varchar(255),
    detail       TEXT,
    occurred_at  TEXT NOT NULL
);
-- "Events of a user, newest first" (session history) and retention deletes.
CREATE INDEX ix_security_events_user_occurred ON security_events (user_id, occurred_at DESC);
CREATE INDEX ix_security_events_occurred_at ON security_events (occurred_at);
