//! What the use cases hand to their callers: plain values with no database types in them, so the HTTP
//! shell renders responses without depending on `latchkey-db` (the crate arrows of
//! `docs/architecture.md`). Each view is built by moving fields out of its row, never by copying them: the
//! authentication check of every request converts its user and session rows this way.

use chrono::{DateTime, Utc};
use latchkey_db::models::{EventRow, SessionRow, UserRow};
use latchkey_domain::Role;
use uuid::Uuid;

/// A user account. The password hash never leaves the service layer.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub is_active: bool,
    pub is_superuser: bool,
    pub preferences: Option<serde_json::Value>,
    pub locale: Option<String>,
    /// Set when the account was soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// "First Last", skipping empty parts; `None` when both are empty (the reference's `user_full_name`).
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [Some(self.first_name.as_str()), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> Self {
        User {
            id: u.id.0,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone_number: u.phone_number,
            is_active: u.is_active,
            is_superuser: u.is_superuser,
            preferences: u.preferences.map(|p| p.0),
            locale: u.locale,
            deleted_at: u.deleted_at.map(|t| t.0),
            created_at: u.created_at.0,
            updated_at: u.updated_at.0,
        }
    }
}

/// One login on one device. The refresh-token ids and the raw User-Agent stay inside the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub ip_address: Option<String>,
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub last_used_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub is_active: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

impl From<SessionRow> for Session {
    fn from(s: SessionRow) -> Self {
        Session {
            id: s.id.0,
            user_id: s.user_id.0,
            device_name: s.device_name,
            device_id: s.device_id,
            ip_address: s.ip_address,
            location_city: s.location_city,
            location_country: s.location_country,
            last_used_at: s.last_used_at.0,
            created_at: s.created_at.0,
            expires_at: s.expires_at.0,
            is_active: s.is_active,
            revoked_at: s.revoked_at.map(|t| t.0),
            revoked_reason: s.revoked_reason,
        }
    }
}

/// A security event (login history and audit trail).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// `latchkey_domain::SecurityEventKind`'s text, e.g. `login_succeeded`.
    pub event_type: String,
    pub ip_address: Option<String>,
    /// Where `ip_address` was, when a GeoIP file knew it.
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub device_name: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
}

impl From<EventRow> for Event {
    fn from(e: EventRow) -> Self {
        Event {
            id: e.id.0,
            user_id: e.user_id.map(|i| i.0),
            session_id: e.session_id.map(|i| i.0),
            event_type: e.kind,
            ip_address: e.ip_address,
            location_city: e.location_city,
            location_country: e.location_country,
            device_name: e.device_name,
            detail: e.detail.map(|d| d.0),
            occurred_at: e.occurred_at.0,
        }
    }
}

/// An organization, with its number of active members.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub settings: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub member_count: i64,
}

/// A user's membership of an organization, with the user's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub role: Role,
    /// Whether the membership is active (a removed member's is not).
    pub is_active: bool,
    /// When the membership was created.
    pub joined_at: DateTime<Utc>,
}

/// A session as an administrator sees it: with its user.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSession {
    pub session: Session,
    pub user_email: String,
    pub user_full_name: Option<String>,
}

/// One page of a list, plus how many items all pages hold together.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total }
    }
}

impl<R, T: From<R>> From<latchkey_db::repo::Page<R>> for Page<T> {
    /// A repository's page of rows as a page of views.
    fn from(page: latchkey_db::repo::Page<R>) -> Self {
        Page { items: page.items.into_iter().map(T::from).collect(), total: page.total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_name_skips_empty_parts() {
        let mut u = User {
            id: Uuid::nil(),
            email: "a@b.co".into(),
            first_name: "Ada".into(),
            last_name: Some("Lovelace".into()),
            phone_number: None,
            is_active: true,
            is_superuser: false,
            preferences: None,
            locale: None,
            deleted_at: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        assert_eq!(u.full_name().as_deref(), Some("Ada Lovelace"));
        u.last_name = None;
        assert_eq!(u.full_name().as_deref(), Some("Ada"));
        u.first_name = String::new();
        assert_eq!(u.full_name(), None);
    }
}
