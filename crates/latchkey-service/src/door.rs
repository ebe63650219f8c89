//! The authentication check at the door, on every request: a valid access token whose session is live and
//! whose user may act. The token is verified and the session cache asked without waiting
//! ([`check_cached`], which the HTTP layer runs on its event loop); only a miss goes to the database
//! ([`authenticate_valid`]). What a change then re-checks inside its transaction is in [`crate::caller`].

use chrono::{DateTime, Utc};
use latchkey_auth::{AccessClaims, AuthError};
use latchkey_db::Ts;
use latchkey_db::models::{SessionRow, UserRow};
use latchkey_db::repo::sessions;

use crate::caller::{Authenticated, messages};
use crate::error::ServiceError;
use crate::services::Services;

/// The authentication check of every request: a valid access token whose session is live and whose user
/// may act. Served from the session cache when it can ([`check_cached`]); otherwise one query loads both.
pub fn authenticate(svc: &Services, access_token: &str) -> Result<Authenticated, ServiceError> {
    match check_cached(svc, access_token)? {
        Door::Admitted(caller) => Ok(caller),
        Door::AskDatabase(token) => authenticate_valid(svc, token),
    }
}

/// What the authentication check could decide without the database.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "moved once per request; a box would cost an allocation each")]
pub enum Door {
    /// The session cache admitted the request.
    Admitted(Authenticated),
    /// The token is valid; only the database can say whether its session still is.
    AskDatabase(ValidToken),
}

/// An access token whose signature, type and expiry were checked.
#[derive(Debug, Clone)]
pub struct ValidToken {
    pub(crate) claims: AccessClaims,
}

/// The authentication check's first half, which never waits (the HTTP layer runs it on its event loop):
/// the token is verified, then the session cache answers if it can. A bad or expired token is refused here.
pub fn check_cached(svc: &Services, access_token: &str) -> Result<Door, ServiceError> {
    let now = svc.now();
    let claims = access_claims(svc, access_token, now)?;
    Ok(match svc.cache.get(claims.sid, claims.sub, now, svc.policy.touch_interval) {
        Some(caller) => Door::Admitted(caller),
        None => Door::AskDatabase(ValidToken { claims }),
    })
}

/// The authentication check's second half, on the database: one query loads the session and its user.
/// An admitted answer goes into the session cache.
pub fn authenticate_valid(svc: &Services, token: ValidToken) -> Result<Authenticated, ServiceError> {
    let stamp = svc.cache.stamp(token.claims.sid, token.claims.sub);
    let found = sessions::find_with_user(&mut *svc.db.conn()?, token.claims.sid)?;
    let Some((session, user)) = found else {
        return Err(ServiceError::Unauthenticated(messages::SESSION_REVOKED));
    };
    let now = svc.now();
    let caller = admit(svc, &token.claims, session, user, now)?;
    svc.cache.put(stamp, &caller, now);
    Ok(caller)
}

/// The claims of a valid, unexpired access token.
pub(crate) fn access_claims(
    svc: &Services,
    access_token: &str,
    now: DateTime<Utc>,
) -> Result<AccessClaims, ServiceError> {
    match svc.tokens.decode_access(access_token, now) {
        Ok(c) => Ok(c),
        Err(AuthError::Expired) => Err(ServiceError::Unauthenticated(messages::TOKEN_EXPIRED)),
        Err(_) => Err(ServiceError::Unauthenticated(messages::BAD_CREDENTIALS)),
    }
}

/// The rest of the authentication check, on the session the token names and its user as loaded: the
/// session is the token user's, live, and the user may act. "Last used" is queued for writing (off the
/// request's path) at most once per touch interval.
pub(crate) fn admit(
    svc: &Services,
    claims: &AccessClaims,
    mut session: SessionRow,
    mut user: UserRow,
    now: DateTime<Utc>,
) -> Result<Authenticated, ServiceError> {
    if session.user_id.0 != claims.sub {
        return Err(ServiceError::Unauthenticated(messages::BAD_CREDENTIALS));
    }
    if !session.is_active || session.expires_at.0 <= now || user.deleted_at.is_some() {
        return Err(ServiceError::Unauthenticated(messages::SESSION_REVOKED));
    }
    if !user.is_active {
        return Err(ServiceError::Forbidden(messages::INACTIVE_USER.into()));
    }
    if now - session.last_used_at.0 >= svc.policy.touch_interval {
        svc.cache.queue_touch(session.id.0);
        session.last_used_at = Ts(now);
    }
    let password_hash = user.password_hash.take();
    Ok(Authenticated::new(user.into(), session.into(), password_hash))
}
