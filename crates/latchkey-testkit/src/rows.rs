//! Row builders for tests that write through the repositories: every column of a new user, session or
//! organization is spelled here once. Change what a test cares about with struct update syntax, e.g.
//! `NewSession { ip_address: None, ..rows::session(user.id, at, ttl) }`.

use chrono::{DateTime, Duration, Utc};
use latchkey_db::models::{NewOrg, NewSession, NewUser, OrgRow, SessionRow, UserRow};
use latchkey_db::repo::{organizations, sessions, users};
use latchkey_db::{AnyConnection, Id, Json, Ts};

/// An active, ordinary user named Ada, created (and last updated) at `at`, with a password hash and
/// preferences.
pub fn user(email: &str, at: DateTime<Utc>) -> NewUser {
    NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.to_owned(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned()),
        first_name: "Ada".to_owned(),
        last_name: None,
        phone_number: None,
        is_active: true,
        is_superuser: false,
        preferences: Some(Json(serde_json::json!({"theme": "dark"}))),
        locale: None,
        created_at: Ts(at),
        updated_at: Ts(at),
    }
}

/// An active session of `user` from Chrome on a Mac at 127.0.0.1, started (and last used) at `at`,
/// expiring `expires_in` later, at most 30 days after it started.
pub fn session(user: Id, at: DateTime<Utc>, expires_in: Duration) -> NewSession {
    NewSession {
        id: Id(uuid::Uuid::new_v4()),
        user_id: user,
        refresh_token_jti: uuid::Uuid::new_v4().to_string(),
        device_name: Some("Chrome on Mac OS X".into()),
        device_id: None,
        ip_address: Some("127.0.0.1".into()),
        user_agent: Some("Mozilla/5.0".into()),
        location_city: None,
        location_country: None,
        last_used_at: Ts(at),
        expires_at: Ts(at + expires_in),
        absolute_expires_at: Ts(at + Duration::days(30)),
        is_active: true,
        created_at: Ts(at),
        updated_at: Ts(at),
    }
}

/// An active organization with empty settings and no description, created at `at`.
pub fn organization(name: &str, slug: &str, at: DateTime<Utc>) -> NewOrg {
    NewOrg {
        id: Id(uuid::Uuid::new_v4()),
        name: name.to_owned(),
        slug: slug.to_owned(),
        description: None,
        is_active: true,
        settings: Some(Json(serde_json::json!({}))),
        created_at: Ts(at),
        updated_at: Ts(at),
    }
}

/// Stores [`user`].
pub fn create_user(conn: &mut AnyConnection, email: &str, at: DateTime<Utc>) -> UserRow {
    users::create(conn, &user(email, at)).expect("create user")
}

/// Stores [`session`].
pub fn create_session(conn: &mut AnyConnection, user: &UserRow, at: DateTime<Utc>, expires_in: Duration) -> SessionRow {
    sessions::create(conn, &session(user.id, at, expires_in)).expect("create session")
}

/// Stores [`organization`].
pub fn create_organization(conn: &mut AnyConnection, name: &str, slug: &str, at: DateTime<Utc>) -> OrgRow {
    organizations::create(conn, &organization(name, slug, at)).expect("create organization")
}
