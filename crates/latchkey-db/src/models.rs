//! Row structs: what a table row looks like to Rust, and what an insert needs.

use diesel::prelude::*;

use crate::schema::{organizations, security_events, user_organizations, user_sessions, users};
use crate::types::{Id, Json, Ts};

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Id,
    pub email: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub is_active: bool,
    pub is_superuser: bool,
    pub preferences: Option<Json>,
    pub locale: Option<String>,
    pub deleted_at: Option<Ts>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A new user. `email` must already be normalised (lower case).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: Id,
    pub email: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub is_active: bool,
    pub is_superuser: bool,
    pub preferences: Option<Json>,
    pub locale: Option<String>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A partial update of a user: `None` leaves a column alone, `Some(None)` sets it to NULL.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub first_name: Option<String>,
    pub last_name: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub password_hash: Option<Option<String>>,
    pub preferences: Option<Option<Json>>,
    pub locale: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub updated_at: Option<Ts>,
}

/// A row of `user_sessions`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = user_sessions)]
pub struct SessionRow {
    pub id: Id,
    pub user_id: Id,
    pub refresh_token_jti: String,
    pub previous_refresh_jti: Option<String>,
    pub rotated_at: Option<Ts>,
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub last_used_at: Ts,
    pub expires_at: Ts,
    pub absolute_expires_at: Ts,
    pub is_active: bool,
    pub revoked_at: Option<Ts>,
    pub revoked_reason: Option<String>,
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A new session, written at login.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = user_sessions)]
pub struct NewSession {
    pub id: Id,
    pub user_id: Id,
    pub refresh_token_jti: String,
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub last_used_at: Ts,
    pub expires_at: Ts,
    pub absolute_expires_at: Ts,
    pub is_active: bool,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A row of `security_events`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = security_events)]
pub struct EventRow {
    pub id: Id,
    pub user_id: Option<Id>,
    pub session_id: Option<Id>,
    pub kind: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub device_name: Option<String>,
    pub detail: Option<Json>,
    pub occurred_at: Ts,
    /// The administrator who acted; `None` when the user acted on their own account (or the system did).
    pub actor_id: Option<Id>,
    /// The organization an administrative action concerned.
    pub organization_id: Option<Id>,
    /// The client's own device id (`X-Device-Id`), when it sent one.
    pub device_id: Option<String>,
    /// Where the client's IP resolved to (English names; `GEOIP_DATABASE`).
    pub location_city: Option<String>,
    pub location_country: Option<String>,
}

/// A row of `organizations`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organizations)]
pub struct OrgRow {
    pub id: Id,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub settings: Option<Json>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A new organization. `name` and `slug` must already be validated (`latchkey_domain::org`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrg {
    pub id: Id,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub settings: Option<Json>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A partial update of an organization: `None` leaves a column alone, `Some(None)` sets it to NULL.
/// `updated_at` is always set, so the change set is never empty.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub settings: Option<Option<Json>>,
    pub updated_at: Ts,
}

/// A row of `user_organizations`: one user's membership of one organization. `role` holds
/// `latchkey_domain::Role`'s lower-case names (a CHECK constraint keeps anything else out).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_organizations)]
pub struct MembershipRow {
    pub user_id: Id,
    pub organization_id: Id,
    pub role: String,
    pub is_active: bool,
    pub custom_permissions: Option<String>,
    pub created_at: Ts,
    pub updated_at: Ts,
}
