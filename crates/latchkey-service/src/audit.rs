//! The audit trail of administrative actions. Every action an administrator takes on a user, a session or
//! an organization writes one `security_events` row in the same transaction as the action itself: `kind`
//! says what happened, `actor_id` who did it, and `user_id` / `session_id` / `organization_id` what it was
//! done to. Events whose kind belongs in a user's own history (a revoked session, say) appear there too,
//! because `user_id` is the target.

use chrono::{DateTime, Utc};
use latchkey_db::models::EventRow;
use latchkey_db::repo::events;
use latchkey_db::{AnyConnection, Id, Json, Ts};
use latchkey_domain::SecurityEventKind;

use crate::caller::Superuser;
use crate::error::ServiceError;

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
        let row = EventRow {
            id: Id(uuid::Uuid::new_v4()),
            user_id: self.user.map(Id),
            session_id: self.session.map(Id),
            kind: kind.as_str().to_owned(),
            ip_address: None,
            user_agent: None,
            device_name: None,
            detail: detail.map(Json),
            occurred_at: Ts(now),
            actor_id: Some(Id(self.actor)),
            organization_id: self.organization.map(Id),
            device_id: None,
            location_city: None,
            location_country: None,
        };
        events::insert(conn, &row)?;
        Ok(())
    }
}
