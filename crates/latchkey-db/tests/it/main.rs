//! latchkey-db integration tests: migrations and repositories, each on SQLite and (when
//! `LATCHKEY_TEST_POSTGRES_URL` is set) PostgreSQL.

mod listing;
mod migrations;
mod organizations;
mod repos;

use chrono::{DateTime, Duration, TimeZone, Utc};
use latchkey_db::models::{NewSession, NewUser, SessionRow, UserRow};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{AnyConnection, Id, Ts};

/// A fixed "now" so tests never read the wall clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

pub fn new_user(email: &str, now: DateTime<Utc>) -> NewUser {
    NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.to_owned(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned()),
        first_name: "Ada".to_owned(),
        last_name: None,
        phone_number: None,
        is_active: true,
        is_superuser: false,
        preferences: Some(latchkey_db::Json(serde_json::json!({"theme": "dark"}))),
        locale: None,
        created_at: Ts(now),
        updated_at: Ts(now),
    }
}

pub fn create_user(conn: &mut AnyConnection, email: &str, now: DateTime<Utc>) -> UserRow {
    users::create(conn, &new_user(email, now)).expect("create user")
}

pub fn create_session(
    conn: &mut AnyConnection,
    user: &UserRow,
    now: DateTime<Utc>,
    expires_in: Duration,
) -> SessionRow {
    let s = NewSession {
        id: Id(uuid::Uuid::new_v4()),
        user_id: user.id,
        refresh_token_jti: uuid::Uuid::new_v4().to_string(),
        device_name: Some("Chrome on Mac OS X".into()),
        device_id: None,
        ip_address: Some("127.0.0.1".into()),
        user_agent: Some("Mozilla/5.0".into()),
        location_city: None,
        location_country: None,
        last_used_at: Ts(now),
        expires_at: Ts(now + expires_in),
        absolute_expires_at: Ts(now + Duration::days(30)),
        is_active: true,
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    sessions::create(conn, &s).expect("create session")
}
