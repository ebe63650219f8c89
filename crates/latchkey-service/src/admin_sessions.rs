//! Everyone's sessions, for the admin API: list them (all, or one user's), end one, end all of a user's.
//! The caller's own sessions are in [`crate::sessions`].

use latchkey_db::models::{SessionRow, UserRow};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::list::PageRequest;
use latchkey_domain::{RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::accounts::{end_sessions, the_target, user_not_found};
use crate::authz;
use crate::caller::{Authenticated, Caller, as_superuser};
use crate::error::ServiceError;
use crate::events::Audit;
use crate::services::Services;
use crate::views::{AdminSession, Page, Session, User};

/// A session row and its user's row as an administrator sees them.
fn admin_session(session: SessionRow, user: &UserRow) -> AdminSession {
    let user_full_name = User::from(user.clone()).full_name();
    AdminSession { session: Session::from(session), user_email: user.email.clone(), user_full_name }
}

/// `GET /admin/sessions`: active, unexpired sessions (or, with `only_active` false, every session) of all
/// users, most recently used first, each with its user.
pub fn list_sessions(
    svc: &Services,
    door: &Authenticated,
    only_active: bool,
    page: PageRequest,
) -> Result<Page<AdminSession>, ServiceError> {
    as_superuser(&svc.db, svc.now(), door, authz::SUPERUSER_REQUIRED, |c, _| {
        let rows = sessions::list_all(c, only_active, Ts(svc.now()), page.into())?;
        Ok(Page { items: rows.items.into_iter().map(|(s, u)| admin_session(s, &u)).collect(), total: rows.total })
    })
}

/// `GET /admin/users/{id}/sessions`: the user's active, unexpired sessions, with the user.
pub fn user_sessions(
    svc: &Services,
    door: &Authenticated,
    id: uuid::Uuid,
    page: PageRequest,
) -> Result<Page<AdminSession>, ServiceError> {
    as_superuser(&svc.db, svc.now(), door, authz::SUPERUSER_REQUIRED, |c, _| {
        let user = users::find_by_id(c, id)?.ok_or_else(|| user_not_found(id))?;
        let rows = sessions::page_active(c, id, Ts(svc.now()), page.into())?;
        Ok(Page { items: rows.items.into_iter().map(|s| admin_session(s, &user)).collect(), total: rows.total })
    })
}

/// `DELETE /admin/sessions/{id}`: ends any session; its owner sees the revocation in their history.
/// Ending an already ended session succeeds. Returns the session (as it was) and its user.
pub fn revoke_session(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<AdminSession, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<AdminSession, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(authz::SUPERUSER_REQUIRED)?;
        let not_found = || ServiceError::NotFound(format!("Session {id} not found"));
        let (session, user) = sessions::find_with_user(c, id)?.ok_or_else(not_found)?;
        if sessions::revoke(c, id, RevokeReason::AdminRevoked.as_str(), Ts(now))? {
            Audit::by(&admin).user(user.id.0).session(id).record(
                c,
                now,
                SecurityEventKind::SessionRevoked,
                Some(json!({"reason": RevokeReason::AdminRevoked.as_str()})),
            )?;
            crate::counters::sessions_revoked(RevokeReason::AdminRevoked.as_str(), 1);
        }
        Ok(admin_session(session, &user))
    });
    // An error rolled everything back (a lost answer to a commit is bounded by the cache's maximum age).
    if let Ok(ended) = &result {
        svc.cache.forget_sessions(ended.session.user_id, &[id]);
    }
    result
}

/// `POST /admin/users/{id}/revoke-sessions`: ends every session of the user; returns the user and how
/// many ended.
pub fn revoke_user_sessions(
    svc: &Services,
    door: &Authenticated,
    id: uuid::Uuid,
) -> Result<(User, usize), ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<(User, usize), ServiceError> {
        let (caller, rows) = Caller::readmit_with(c, door, &[id], now)?;
        let admin = caller.superuser(authz::SUPERUSER_REQUIRED)?;
        let user = the_target(rows, id)?;
        let n = end_sessions(c, &admin, &[id], RevokeReason::AdminRevoked, now)?;
        Ok((user.into(), n))
    });
    svc.cache.forget_users(&[id]);
    result
}
