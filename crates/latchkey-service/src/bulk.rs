//! Bulk actions of the admin API (`POST /admin/users/bulk-action`): activate, deactivate or delete many
//! accounts at once, in one transaction, with one audit event per account.

use latchkey_db::repo::users;
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::accounts::end_sessions;
use crate::authz;
use crate::caller::{Authenticated, Caller};
use crate::error::ServiceError;
use crate::events::Audit;
use crate::services::Services;

/// What a bulk action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Activate,
    Deactivate,
    Delete,
}

impl BulkAction {
    /// The action's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Activate => "activate",
            BulkAction::Deactivate => "deactivate",
            BulkAction::Delete => "delete",
        }
    }
}

/// How a bulk action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Accounts the action applied to.
    pub affected: usize,
    /// Ids it skipped: unknown, soft-deleted, or (for deactivate and delete) the caller's own.
    pub skipped: usize,
}

/// `POST /admin/users/bulk-action`: applies the action to every live account among `ids` at once.
/// Deactivate and delete skip the calling administrator and end the affected users' sessions.
pub fn bulk_action(
    svc: &Services,
    door: &Authenticated,
    action: BulkAction,
    ids: &[uuid::Uuid],
) -> Result<BulkOutcome, ServiceError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let affected = write_transaction(&mut conn, |c| -> Result<Vec<uuid::Uuid>, ServiceError> {
        let (caller, _) = Caller::readmit_with(c, door, &ids, now)?;
        let admin = caller.superuser(authz::SUPERUSER_REQUIRED)?;
        let actor = admin.user_id();
        let (affected, kind, reason) = match action {
            BulkAction::Activate => {
                (users::set_active_many(c, &ids, true, None, Ts(now))?, SecurityEventKind::UserActivated, None)
            }
            BulkAction::Deactivate => (
                users::set_active_many(c, &ids, false, Some(actor), Ts(now))?,
                SecurityEventKind::UserDeactivated,
                Some(RevokeReason::UserDeactivated),
            ),
            BulkAction::Delete => (
                users::soft_delete_many(c, &ids, Some(actor), Ts(now))?,
                SecurityEventKind::UserDeleted,
                Some(RevokeReason::UserDeleted),
            ),
        };
        for id in &affected {
            Audit::by(&admin).user(*id).record(c, now, kind, Some(json!({"bulk": true})))?;
        }
        if let Some(reason) = reason {
            end_sessions(c, &admin, &affected, reason, now)?;
        }
        Ok(affected)
    });
    svc.cache.forget_users(&ids);
    let affected = affected?;
    Ok(BulkOutcome { affected: affected.len(), skipped: ids.len() - affected.len() })
}
