//! "Not me": the answer to a new-device alert. The link's page (`GET`) shows what the alert was about and
//! changes nothing (mail scanners open links); the answer (`POST`) ends the alerted session (reason
//! `disowned`, event `login_disowned`) and emails the account a password-reset link. The token is single
//! use: the answer is recorded under the alert's id in the same transaction that ends the session, and of
//! concurrent answers exactly one records it.

use chrono::{DateTime, Utc};
use latchkey_auth::AlertClaims;
use latchkey_db::repo::{alerts, sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::device::Location;
use latchkey_domain::{RevokeReason, SecurityEventKind};

use crate::counters;
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::services::Services;

/// The answer to a used, expired or forged token.
pub const INVALID_TOKEN: &str = "Invalid or expired token";

/// What an alert was about, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertedLogin {
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    pub location: Location,
    pub at: DateTime<Utc>,
}

fn claims(svc: &Services, token: &str) -> Result<AlertClaims, ServiceError> {
    svc.alert_tokens.verify(token, svc.now()).map_err(|_| ServiceError::BadRequest(INVALID_TOKEN))
}

fn alerted_login(c: &mut latchkey_db::AnyConnection, claims: &AlertClaims) -> Result<AlertedLogin, ServiceError> {
    let event =
        alerts::find_alert(c, claims.user_id, claims.session_id)?.ok_or(ServiceError::BadRequest(INVALID_TOKEN))?;
    Ok(AlertedLogin {
        device_name: event.device_name,
        ip_address: event.ip_address,
        location: Location { city: event.location_city, country: event.location_country },
        at: event.occurred_at.0,
    })
}

/// The page's facts for an unused, unexpired token; nothing changes. 400 `VAL_006` for any other token.
pub fn inspect(svc: &Services, token: &str) -> Result<AlertedLogin, ServiceError> {
    let claims = claims(svc, token)?;
    let mut conn = svc.db.conn()?;
    if alerts::is_answered(&mut conn, claims.alert_id)? {
        return Err(ServiceError::BadRequest(INVALID_TOKEN));
    }
    alerted_login(&mut conn, &claims)
}

/// "Not me": ends the alerted session and emails the account a password-reset link (when the account may
/// still reset its password). 400 `VAL_006` for a used, expired or forged token.
pub fn disown(svc: &Services, token: &str) -> Result<AlertedLogin, ServiceError> {
    let claims = claims(svc, token)?;
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let (login, ended, email) = write_transaction(&mut conn, |c| -> Result<_, ServiceError> {
        // The claim first: a second answer stops here, before anything else is read or written.
        if !alerts::answer(c, claims.alert_id, claims.user_id, claims.session_id, Ts(now))? {
            return Err(ServiceError::BadRequest(INVALID_TOKEN));
        }
        let login = alerted_login(c, &claims)?;
        // The user's row first, as every change of an account and its sessions.
        let user = users::lock(c, &[claims.user_id])?.pop();
        let ended = sessions::revoke(c, claims.session_id, RevokeReason::Disowned.as_str(), Ts(now))?;
        record_event(
            c,
            now,
            SecurityEventKind::LoginDisowned,
            EventContext { user_id: Some(claims.user_id), session_id: Some(claims.session_id), device: None },
            Some(serde_json::json!({"alert_id": claims.alert_id, "session_ended": ended})),
        )?;
        let email = user.filter(|u| u.is_active && u.deleted_at.is_none()).map(|u| u.email);
        Ok((login, ended, email))
    })?;
    svc.cache.forget_sessions(claims.user_id, &[claims.session_id]);
    counters::sessions_revoked(RevokeReason::Disowned.as_str(), usize::from(ended));
    if let Some(email) = email {
        crate::password_reset::request_reset(svc, &email)?;
    }
    Ok(login)
}
