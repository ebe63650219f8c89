//! Security events: the one writer of `security_events` rows. A user's own actions (a login, a logout, a
//! password change) are recorded with [`record_event`] and an [`EventContext`]; an administrator's with
//! [`Audit`], which adds who acted. Both build their row with [`event_row`].
//!
//! The audit trail of administrative actions: every action an administrator takes on a user, a session or
//! an organization writes one `security_events` row in the same transaction as the action itself: `kind`
//! says what happened, `actor_id` who did it, and `user_id` / `session_id` / `organization_id` what it was
//! done to. Events whose kind belongs in a user's own history (a revoked session, say) appear there too,
//! because `user_id` is the target.

use chrono::{DateTime, Utc};
use latchkey_db::models::EventRow;
use latchkey_db::repo::events;
use latchkey_db::{AnyConnection, Id, Json, Ts};
use latchkey_domain::{DeviceInfo, SecurityEventKind};

use crate::caller::Superuser;
use crate::error::ServiceError;

/// What a security event records beyond its kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventContext<'a> {
    pub user_id: Option<uuid::Uuid>,
    pub session_id: Option<uuid::Uuid>,
    pub device: Option<&'a DeviceInfo>,
}

/// Writes a security event.
pub fn record_event(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    kind: SecurityEventKind,
    ctx: EventContext<'_>,
    detail: Option<serde_json::Value>,
) -> Result<(), ServiceError> {
    events::insert(conn, &event_row(now, kind, ctx, detail))?;
    Ok(())
}

/// The row of an event with no actor: what [`record_event`] writes, and what [`Audit::record`] adds its
/// actor and organization to.
fn event_row(
    now: DateTime<Utc>,
    kind: SecurityEventKind,
    ctx: EventContext<'_>,
    detail: Option<serde_json::Value>,
) -> EventRow {
    EventRow {
        id: Id(uuid::Uuid::new_v4()),
        user_id: ctx.user_id.map(Id),
        session_id: ctx.session_id.map(Id),
        kind: kind.as_str().to_owned(),
        ip_address: ctx.device.and_then(|d| d.ip_address.clone()),
        user_agent: ctx.device.and_then(|d| d.user_agent.clone()),
        device_name: ctx.device.map(|d| d.device_name.clone()),
        detail: detail.map(Json),
        occurred_at: Ts(now),
        actor_id: None,
        organization_id: None,
        device_id: ctx.device.and_then(|d| d.device_id.clone()),
        location_city: ctx.device.and_then(|d| d.location.city.clone()),
        location_country: ctx.device.and_then(|d| d.location.country.clone()),
    }
}

/// One administrative action, built up from its actor and targets, then recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audit {
    actor: uuid::Uuid,
    user: Option<uuid::Uuid>,
    session: Option<uuid::Uuid>,
    organization: Option<uuid::Uuid>,
}

impl Audit {
    /// An action by the administrator `actor`, as admitted inside the action's transaction.
    pub fn by(actor: &Superuser<'_>) -> Audit {
        Audit { actor: actor.user_id(), user: None, session: None, organization: None }
    }

    /// ... on (or concerning) this user's account.
    pub fn user(self, id: uuid::Uuid) -> Audit {
        Audit { user: Some(id), ..self }
    }

    /// ... on this session.
    pub fn session(self, id: uuid::Uuid) -> Audit {
        Audit { session: Some(id), ..self }
    }

    /// ... on (or in) this organization.
    pub fn organization(self, id: uuid::Uuid) -> Audit {
        Audit { organization: Some(id), ..self }
    }

    /// Writes the event; call it inside the action's transaction so that both happen or neither does.
    pub fn record(
        self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
        kind: SecurityEventKind,
        detail: Option<serde_json::Value>,
    ) -> Result<(), ServiceError> {
        let ctx = EventContext { user_id: self.user, session_id: self.session, device: None };
        let row = EventRow {
            actor_id: Some(Id(self.actor)),
            organization_id: self.organization.map(Id),
            ..event_row(now, kind, ctx, detail)
        };
        events::insert(conn, &row)?;
        Ok(())
    }
}
