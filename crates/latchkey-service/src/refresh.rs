//! Refreshing (`POST /auth/refresh`): the refresh token's rotation, and what a token that was already
//! rotated out means (a client's double refresh within the grace window, or reuse, which revokes the
//! session).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use latchkey_auth::{AuthError, RefreshClaims};
use latchkey_db::repo::sessions;
use latchkey_db::{AnyConnection, Ts, write_statements, write_transaction};
use latchkey_domain::{RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::counters;
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::services::Services;
use crate::tokens::{IssuedTokens, sign_tokens};

/// What a refused refresh answers clients; kept in one place so tests and handlers agree.
pub mod messages {
    pub const SESSION_REVOKED_LOGIN_AGAIN: &str = "Session has been revoked. Please log in again.";
    pub const INVALID_REFRESH: &str = "Invalid refresh token";
    pub const REFRESH_EXPIRED: &str = "Refresh token has expired. Please log in again.";
}

/// Why a refresh that lost its compare-and-swap is refused.
enum RefreshOutcome {
    Refused(&'static str),
    /// Refused after detecting reuse, which revoked the session.
    ReuseDetected,
}

/// `POST /auth/refresh`: rotates the refresh token. Presenting a token that was already rotated out is
/// reuse: the session is revoked (unless the rotation happened within the grace window, which is how a
/// client's concurrent double refresh looks). A refresh from another address than the session's moves the
/// session's `ip_address` and location there.
pub fn refresh(svc: &Services, refresh_token: &str, client_ip: Option<IpAddr>) -> Result<IssuedTokens, ServiceError> {
    let result = rotate_refresh_token(svc, refresh_token, client_ip);
    match &result {
        Ok(_) => counters::refresh(true),
        Err(ServiceError::Unauthenticated(_)) => counters::refresh(false),
        Err(_) => {}
    }
    result
}

fn rotate_refresh_token(
    svc: &Services,
    refresh_token: &str,
    client_ip: Option<IpAddr>,
) -> Result<IssuedTokens, ServiceError> {
    let now = svc.now();
    let claims = match svc.tokens.decode_refresh(refresh_token, now) {
        Ok(c) => c,
        Err(AuthError::Expired) => return Err(ServiceError::Unauthenticated(messages::REFRESH_EXPIRED)),
        Err(_) => return Err(ServiceError::Unauthenticated(messages::INVALID_REFRESH)),
    };
    let presented = claims.jti.to_string();
    let new_jti = uuid::Uuid::new_v4();
    // Looked up whether or not the address moved (the statement decides that): a few microseconds.
    let ip = client_ip.map(|ip| ip.to_string());
    let place = client_ip.map(|ip| svc.geoip.locate(ip)).unwrap_or_default();
    let rotation = sessions::Rotation {
        session_id: claims.sid,
        user_id: claims.sub,
        presented_jti: &presented,
        new_jti: &new_jti.to_string(),
        refresh_until: Ts(now + svc.policy.lifetimes.refresh),
        now: Ts(now),
        client: sessions::Client {
            ip_address: ip.as_deref(),
            location_city: place.city.as_deref(),
            location_country: place.country.as_deref(),
        },
    };
    let mut conn = svc.db.conn()?;
    // The usual case first, with no transaction (the compare-and-swap decides, and each statement is atomic):
    // rotate and read the user the new tokens describe, in one statement on PostgreSQL.
    let rotated = write_statements(&mut conn, |c| sessions::rotate_for_user(c, &rotation))?;
    if let Some(sessions::Rotated { expires_at, user }) = rotated {
        // The session's expiry, and maybe its address, moved: this node's list of the user's sessions shows
        // them at once (other nodes' within the cache's maximum age: a rotation notifies no one).
        svc.cache.forget_lists(&[claims.sub]);
        let (access_token, refresh_token) = sign_tokens(svc, &user, claims.sid, new_jti, now, expires_at.0)?;
        return Ok(IssuedTokens {
            access_token,
            refresh_token,
            expires_in: svc.policy.lifetimes.access.num_seconds(),
            user: user.into(),
            session_id: claims.sid,
            device_token: None,
        });
    }
    // The swap lost: work out why, in a transaction, since reuse revokes the session and records it.
    let outcome = write_transaction(&mut conn, |c| why_refused(svc, c, &claims, &presented, now))?;
    match outcome {
        RefreshOutcome::Refused(message) => Err(ServiceError::Unauthenticated(message)),
        RefreshOutcome::ReuseDetected => {
            svc.cache.forget_sessions(claims.sub, &[claims.sid]);
            counters::reuse_detected();
            counters::sessions_revoked(RevokeReason::RefreshTokenReuse.as_str(), 1);
            Err(ServiceError::Unauthenticated(messages::SESSION_REVOKED_LOGIN_AGAIN))
        }
    }
}

/// Why the refresh token `presented` lost its compare-and-swap, inside a write transaction: the session
/// ended, or the token is not its own, or it was rotated out (reuse, which revokes the session, unless
/// within the grace window).
fn why_refused(
    svc: &Services,
    c: &mut AnyConnection,
    claims: &RefreshClaims,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<RefreshOutcome, ServiceError> {
    let Some((session, user)) = sessions::find_with_user(c, claims.sid)? else {
        return Ok(RefreshOutcome::Refused(messages::SESSION_REVOKED_LOGIN_AGAIN));
    };
    if session.user_id.0 != claims.sub {
        return Ok(RefreshOutcome::Refused(messages::INVALID_REFRESH));
    }
    if !user.is_active || user.deleted_at.is_some() {
        return Ok(RefreshOutcome::Refused(messages::INVALID_REFRESH));
    }
    if !session.is_active || session.expires_at.0 <= now {
        return Ok(RefreshOutcome::Refused(messages::SESSION_REVOKED_LOGIN_AGAIN));
    }
    // Live session, user may act: the token was rotated out (or is still current, the swap having failed
    // on a state that has passed since, such as a user reactivated meanwhile). Rotated out within the
    // grace window is most likely the client's own concurrent double refresh, not reuse.
    let within_grace = session.refresh_token_jti == presented
        || (session.previous_refresh_jti.as_deref() == Some(presented)
            && session.rotated_at.is_some_and(|t| now - t.0 <= svc.policy.reuse_grace));
    let ctx = EventContext { user_id: Some(user.id.0), session_id: Some(claims.sid), device: None };
    if within_grace {
        // Most likely a client's concurrent double refresh, so nothing is revoked; but it may be a thief
        // racing the client, so the user and the admin can see it in the history.
        record_event(
            c,
            now,
            SecurityEventKind::RefreshTokenReuse,
            ctx,
            Some(json!({"presented_jti": presented, "within_grace_window": true, "session_revoked": false})),
        )?;
        tracing::info!(user_id = %user.id.0, session_id = %claims.sid, "refresh token replayed within the grace window");
        return Ok(RefreshOutcome::Refused(messages::SESSION_REVOKED_LOGIN_AGAIN));
    }
    sessions::revoke(c, claims.sid, RevokeReason::RefreshTokenReuse.as_str(), Ts(now))?;
    record_event(
        c,
        now,
        SecurityEventKind::RefreshTokenReuse,
        ctx,
        Some(json!({"presented_jti": presented, "within_grace_window": false, "session_revoked": true})),
    )?;
    tracing::warn!(user_id = %user.id.0, session_id = %claims.sid, "refresh token reuse: session revoked");
    Ok(RefreshOutcome::ReuseDetected)
}
