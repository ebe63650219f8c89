//! The caller's sessions: list, end one, name one, clean up ended ones, and the security history.

use latchkey_db::models::SessionRow;
use latchkey_db::repo::{events, sessions};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::list::PageRequest;
use latchkey_domain::{DomainError, RevokeReason, SecurityEventKind};

use crate::caller::{Authenticated, Caller, messages};
use crate::counters;
use crate::door::{self, ValidToken};
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::services::Services;
use crate::views::{Event, Page, Session};

/// `GET /sessions/me` (the hot path of a device's session screen): the caller, and the user's live sessions
/// most recently used first. From the session cache when it holds them ([`list_cached`]); otherwise from
/// the database in one query ([`list_valid`]).
pub fn authenticate_and_list(
    svc: &Services,
    access_token: &str,
) -> Result<(Authenticated, Vec<Session>), ServiceError> {
    match list_cached(svc, access_token)? {
        Listed::Answered(caller, list) => Ok((caller, list)),
        Listed::AskDatabase(token) => list_valid(svc, token),
    }
}

/// What `GET /sessions/me` could answer without the database.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "moved once per request; a box would cost an allocation each")]
pub enum Listed {
    /// The session cache admitted the request and held the list.
    Answered(Authenticated, Vec<Session>),
    /// The token is valid; the database must answer.
    AskDatabase(ValidToken),
}

/// `GET /sessions/me`'s first half, which never waits: the token is verified, then the session cache
/// answers if it holds the caller's admission and the user's list.
pub fn list_cached(svc: &Services, access_token: &str) -> Result<Listed, ServiceError> {
    let now = svc.now();
    let claims = door::access_claims(svc, access_token, now)?;
    Ok(match svc.cache.get_list(claims.sid, claims.sub, now, svc.policy.touch_interval) {
        Some((caller, list)) => Listed::Answered(caller, list),
        None => Listed::AskDatabase(ValidToken { claims }),
    })
}

/// `GET /sessions/me` on the database, in one query: the user's sessions that are live or the one the
/// access token names, each with the user. The named one goes through the authentication check; the
/// others are the list, with the caller's own. Both go into the session cache.
pub fn list_valid(svc: &Services, token: ValidToken) -> Result<(Authenticated, Vec<Session>), ServiceError> {
    let claims = token.claims;
    let stamp = svc.cache.stamp(claims.sid, claims.sub);
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let mut rows = sessions::current_and_live_with_user(&mut conn, claims.sub, claims.sid, Ts(now))?;
    // Not found among the token user's sessions: gone, or (with a forged `sid`) someone else's.
    let Some(at) = rows.iter().position(|(session, _)| session.id.0 == claims.sid) else {
        return Err(ServiceError::Unauthenticated(messages::SESSION_REVOKED));
    };
    let (current, user) = rows.remove(at);
    let caller = door::admit(svc, &claims, current, user, now)?;
    svc.cache.put(stamp, &caller, now);
    let mut list: Vec<Session> = rows.into_iter().map(|(session, _)| Session::from(session)).collect();
    // The caller's session passed the check, so it is live; its "last used" may have just been moved.
    list.push(caller.session.clone());
    list.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(b.created_at.cmp(&a.created_at)));
    svc.cache.put_list(stamp, claims.sid, claims.sub, &list, now);
    Ok((caller, list))
}

/// Loads one of the caller's sessions, with the reference's 404/403.
fn own_session(
    conn: &mut latchkey_db::AnyConnection,
    caller: &Caller,
    id: uuid::Uuid,
    forbidden: &str,
) -> Result<SessionRow, ServiceError> {
    let session =
        sessions::find_by_id(conn, id)?.ok_or_else(|| ServiceError::NotFound(format!("Session {id} not found")))?;
    if session.user_id.0 != caller.user_id() {
        return Err(ServiceError::Forbidden(forbidden.to_owned()));
    }
    Ok(session)
}

/// `DELETE /sessions/{id}`: ends one of the caller's sessions (their current one included); returns its
/// device name. Ending an already ended session succeeds.
pub fn revoke_mine(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<Option<String>, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let (device_name, revoked) = write_transaction(&mut conn, |c| -> Result<_, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let session = own_session(c, &caller, id, "You can only revoke your own sessions")?;
        let revoked = sessions::revoke(c, id, RevokeReason::UserRevoked.as_str(), Ts(now))?;
        if revoked {
            record_event(
                c,
                now,
                SecurityEventKind::SessionRevoked,
                EventContext { user_id: Some(caller.user_id()), session_id: Some(id), device: None },
                Some(
                    serde_json::json!({"reason": RevokeReason::UserRevoked.as_str(), "by_session": caller.session_id()}),
                ),
            )?;
        }
        Ok((session.device_name, revoked))
    })?;
    svc.cache.forget_sessions(door.user_id(), &[id]);
    counters::sessions_revoked(RevokeReason::UserRevoked.as_str(), usize::from(revoked));
    Ok(device_name)
}

/// `PATCH /sessions/{id}`: names a live session's device (1..255 characters after trimming); an ended
/// session is not found.
pub fn rename_mine(svc: &Services, door: &Authenticated, id: uuid::Uuid, name: &str) -> Result<Session, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("device_name", "Device name cannot be empty").into());
    }
    if name.chars().count() > 255 {
        return Err(DomainError::constraint("device_name", "String should have at most 255 characters").into());
    }
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let renamed = write_transaction(&mut conn, |c| -> Result<Session, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        own_session(c, &caller, id, "You can only rename your own sessions")?;
        // An ended session is gone as far as its owner is concerned (it is not listed): 404, as documented.
        sessions::rename(c, id, name, Ts(now))?
            .map(Session::from)
            .ok_or_else(|| ServiceError::NotFound(format!("Session {id} not found")))
    });
    svc.cache.forget_sessions(door.user_id(), &[id]);
    renamed
}

/// `DELETE /sessions/me/expired`: deletes the caller's ended sessions; returns how many.
pub fn delete_ended_mine(svc: &Services, door: &Authenticated) -> Result<usize, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<usize, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        Ok(sessions::delete_ended_for_user(c, caller.user_id(), Ts(now))?)
    })
}

/// `GET /sessions/me/history`: the caller's security events, newest first.
pub fn history(svc: &Services, caller: &Authenticated, page: PageRequest) -> Result<Page<Event>, ServiceError> {
    let mut conn = svc.db.conn()?;
    let kinds = SecurityEventKind::user_history_kinds();
    Ok(events::list_for_user(&mut conn, caller.user_id(), &kinds, page.into())?.into())
}
