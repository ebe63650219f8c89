//! Logging out (`POST /auth/logout`, `/auth/logout-all`, `/auth/logout-others`): the caller ends one of
//! their sessions by its refresh token, or all of them, or all but the current one.

use latchkey_db::repo::sessions;
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::caller::{Authenticated, Caller};
use crate::counters;
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::services::Services;

/// `POST /auth/logout`: ends the session the refresh token names, if it is the caller's. An invalid,
/// expired or unknown token still succeeds (the client wants to be logged out).
pub fn logout(svc: &Services, caller: &Authenticated, refresh_token: &str) -> Result<(), ServiceError> {
    let now = svc.now();
    // A refresh token expires with its session, so an expired one has nothing left to end.
    let claims = match svc.tokens.decode_refresh(refresh_token, now) {
        Ok(c) => c,
        Err(_) => return Ok(()),
    };
    let mut conn = svc.db.conn()?;
    // The revocation and its event commit together: no logout without its record, nor the reverse.
    let revoked = write_transaction(&mut conn, |c| -> Result<bool, ServiceError> {
        let caller = Caller::readmit(c, caller, now)?;
        let Some(session) = sessions::find_by_id(c, claims.sid)? else { return Ok(false) };
        if session.user_id.0 != caller.user_id() {
            return Err(ServiceError::Forbidden("You can only logout your own sessions".into()));
        }
        let revoked = sessions::revoke(c, claims.sid, RevokeReason::Logout.as_str(), Ts(now))?;
        if revoked {
            record_event(
                c,
                now,
                SecurityEventKind::Logout,
                EventContext { user_id: Some(caller.user_id()), session_id: Some(claims.sid), device: None },
                None,
            )?;
        }
        Ok(revoked)
    })?;
    svc.cache.forget_sessions(claims.sub, &[claims.sid]);
    counters::sessions_revoked(RevokeReason::Logout.as_str(), usize::from(revoked));
    Ok(())
}

/// `POST /auth/logout-all` (every session) and `/auth/logout-others` (all but the caller's); returns how many
/// sessions ended.
pub fn logout_many(svc: &Services, caller: &Authenticated, keep_current: bool) -> Result<usize, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let (n, reason) = write_transaction(&mut conn, |c| -> Result<(usize, RevokeReason), ServiceError> {
        let caller = Caller::readmit(c, caller, now)?;
        let (keep, reason) = if keep_current {
            (Some(caller.session_id()), RevokeReason::LogoutOthers)
        } else {
            (None, RevokeReason::LogoutAll)
        };
        let n = sessions::revoke_all(c, caller.user_id(), keep, reason.as_str(), Ts(now))?;
        record_event(
            c,
            now,
            SecurityEventKind::Logout,
            EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None },
            Some(json!({"scope": reason.as_str(), "sessions": n})),
        )?;
        Ok((n, reason))
    })?;
    // Every session of the user goes with the user's entry; the kept one is read again.
    svc.cache.forget_users(&[caller.user_id()]);
    counters::sessions_revoked(reason.as_str(), n);
    Ok(n)
}
