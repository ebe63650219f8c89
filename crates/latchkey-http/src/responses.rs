//! Response bodies, field for field (and in field order) as the reference serialises them.

use chrono::{DateTime, Utc};
use latchkey_domain::list::PageRequest;
use latchkey_service::stats::Stats;
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::views::{AdminSession, Event, Member, Organization, Page, Session, User};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `UserResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub id: Uuid,
    pub is_active: bool,
    pub is_superuser: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub locale: Option<String>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        UserResponse {
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone_number: u.phone_number,
            id: u.id,
            is_active: u.is_active,
            is_superuser: u.is_superuser,
            created_at: u.created_at,
            updated_at: Some(u.updated_at),
            locale: u.locale,
        }
    }
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        UserResponse::from(u.clone())
    }
}

/// `Token`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(title = "Token")]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    #[schema(value_type = String, example = "bearer")]
    pub token_type: &'static str,
    pub user: UserResponse,
    pub expires_in: i64,
}

impl From<IssuedTokens> for TokenResponse {
    fn from(t: IssuedTokens) -> Self {
        TokenResponse {
            user: UserResponse::from(t.user),
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "bearer",
            expires_in: t.expires_in,
        }
    }
}

/// `{"success": true, "message": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub success: bool,
    pub message: String,
}

impl MessageResponse {
    /// A success message.
    pub fn ok(message: impl Into<String>) -> MessageResponse {
        MessageResponse { success: true, message: message.into() }
    }
}

/// `SessionResponse`; `user_agent` is never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    #[schema(example = "Chrome on Mac OS X")]
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub id: Uuid,
    pub ip_address: Option<String>,
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub last_used_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub is_current: bool,
}

impl SessionResponse {
    /// The session as seen by the caller whose session is `current`.
    pub fn new(s: Session, current: Uuid) -> SessionResponse {
        SessionResponse {
            is_current: s.id == current,
            device_name: s.device_name,
            device_id: s.device_id,
            id: s.id,
            ip_address: s.ip_address,
            location_city: s.location_city,
            location_country: s.location_country,
            last_used_at: s.last_used_at,
            created_at: s.created_at,
            expires_at: s.expires_at,
        }
    }
}

/// `{"sessions": [...], "total": N}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListResponse {
    pub sessions: Vec<SessionResponse>,
    pub total: usize,
}

/// One entry of `GET /sessions/me/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    pub id: Uuid,
    /// What happened: `login_succeeded`, `login_failed`, `logout`, `session_revoked`, `refresh_token_reuse`,
    /// `password_changed`, `password_reset`, ...
    #[schema(example = "login_succeeded")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    /// The city of `ip_address` in English, when the server has a GeoIP file that knows it.
    #[schema(example = "London")]
    pub location_city: Option<String>,
    /// The country of `ip_address` in English, when the server has a GeoIP file that knows it.
    #[schema(example = "United Kingdom")]
    pub location_country: Option<String>,
    pub device_name: Option<String>,
    pub session_id: Option<Uuid>,
}

impl From<Event> for EventResponse {
    fn from(e: Event) -> Self {
        EventResponse {
            id: e.id,
            event_type: e.event_type,
            occurred_at: e.occurred_at,
            ip_address: e.ip_address,
            location_city: e.location_city,
            location_country: e.location_country,
            device_name: e.device_name,
            session_id: e.session_id,
        }
    }
}

/// `OrganizationResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    #[schema(example = "Acme Corp")]
    pub name: String,
    #[schema(example = "acme-corp")]
    pub slug: String,
    pub description: Option<String>,
    pub is_active: bool,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Active members (soft-deleted users not counted).
    pub member_count: i64,
}

impl From<Organization> for OrganizationResponse {
    fn from(o: Organization) -> Self {
        OrganizationResponse {
            name: o.name,
            slug: o.slug,
            description: o.description,
            is_active: o.is_active,
            settings: o.settings,
            id: o.id,
            created_at: o.created_at,
            updated_at: Some(o.updated_at),
            member_count: o.member_count,
        }
    }
}

/// `OrganizationMemberResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationMemberResponse {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    /// `owner`, `admin`, `member` or `guest`.
    #[schema(value_type = String, example = "member")]
    pub role: &'static str,
    /// Whether the membership is active (a removed member's is not).
    pub is_active: bool,
    /// When the membership began.
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for OrganizationMemberResponse {
    fn from(m: Member) -> Self {
        OrganizationMemberResponse {
            user_id: m.user_id,
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            role: m.role.as_str(),
            is_active: m.is_active,
            joined_at: m.joined_at,
        }
    }
}

/// The pagination block.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct Pagination {
    pub total: i64,
    pub page: u32,
    pub page_size: usize,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_prev: bool,
}

/// `PaginatedResponse[T]`: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

impl<T> Paginated<T> {
    /// Builds the answer for `request` from a page of views; `page_size` is the number of items in this
    /// page, as in the reference.
    pub fn new<R>(page: Page<R>, request: PageRequest, map: impl FnMut(R) -> T) -> Paginated<T> {
        let total_pages = request.total_pages(page.total);
        let number = request.page();
        let data: Vec<T> = page.items.into_iter().map(map).collect();
        Paginated {
            pagination: Pagination {
                total: page.total,
                page: number,
                page_size: data.len(),
                total_pages,
                has_next: i64::from(number) < total_pages,
                has_prev: number > 1,
            },
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_matches_the_reference() {
        let page = Page { items: vec![1, 2], total: 5 };
        let p = Paginated::new(page, PageRequest::new(1, 2).unwrap(), |x: i32| x);
        assert_eq!(
            p.pagination,
            Pagination { total: 5, page: 1, page_size: 2, total_pages: 3, has_next: true, has_prev: false }
        );
        let empty = Paginated::new(Page::<i32> { items: vec![], total: 0 }, PageRequest::new(2, 20).unwrap(), |x| x);
        assert_eq!(empty.pagination.total_pages, 0);
        assert!(empty.pagination.has_prev && !empty.pagination.has_next);
    }
}

/// `AdminSessionResponse`: a session with its user.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminSessionResponse {
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_email: String,
    pub user_full_name: Option<String>,
    pub ip_address: Option<String>,
    pub location_city: Option<String>,
    pub location_country: Option<String>,
    pub last_used_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub is_active: bool,
}

impl From<AdminSession> for AdminSessionResponse {
    fn from(a: AdminSession) -> Self {
        let s = a.session;
        AdminSessionResponse {
            device_name: s.device_name,
            device_id: s.device_id,
            id: s.id,
            user_id: s.user_id,
            user_email: a.user_email,
            user_full_name: a.user_full_name,
            ip_address: s.ip_address,
            location_city: s.location_city,
            location_country: s.location_country,
            last_used_at: s.last_used_at,
            created_at: s.created_at,
            expires_at: s.expires_at,
            is_active: s.is_active,
        }
    }
}

/// `BulkActionResult`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BulkActionResult)]
pub struct BulkActionResponse {
    pub success: bool,
    pub affected_count: usize,
    pub failed_count: usize,
    pub message: String,
    /// Always null, as in the reference.
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub failed_ids: Option<Vec<Uuid>>,
}

/// One day of the user-growth chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserGrowthPoint {
    #[schema(example = "Nov 28")]
    pub date: String,
    pub total_users: i64,
    pub active_users: i64,
}

/// One slice of a distribution chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedValue {
    pub name: String,
    pub value: i64,
}

/// One day of the registrations chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationPoint {
    #[schema(example = "Nov 28")]
    pub date: String,
    pub registrations: i64,
}

/// `AdminStatsResponse`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminStatsResponse)]
pub struct StatsResponse {
    pub user_growth: Vec<UserGrowthPoint>,
    pub organization_distribution: Vec<NamedValue>,
    pub registration_activity: Vec<RegistrationPoint>,
    pub user_status: Vec<NamedValue>,
}

impl From<Stats> for StatsResponse {
    fn from(s: Stats) -> Self {
        let day = |d: chrono::NaiveDate| d.format("%b %d").to_string();
        StatsResponse {
            user_growth: s
                .user_growth
                .into_iter()
                .map(|g| UserGrowthPoint {
                    date: day(g.date),
                    total_users: g.total_users,
                    active_users: g.active_users,
                })
                .collect(),
            organization_distribution: s
                .organization_distribution
                .into_iter()
                .map(|(name, value)| NamedValue { name, value })
                .collect(),
            registration_activity: s
                .registration_activity
                .into_iter()
                .map(|(d, registrations)| RegistrationPoint { date: day(d), registrations })
                .collect(),
            user_status: vec![
                NamedValue { name: "Active".into(), value: s.active_users },
                NamedValue { name: "Inactive".into(), value: s.inactive_users },
            ],
        }
    }
}
