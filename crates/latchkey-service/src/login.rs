//! Logging in (`POST /auth/login` and `/auth/login/oauth`): the throttled password check, then a new
//! session on this device, its tokens, and maybe a new-device alert.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_auth::Verification;
use latchkey_db::models::{NewSession, UserRow};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{AnyConnection, Id, Ts, write_transaction};
use latchkey_domain::{DeviceInfo, Email, RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::alerts;
use crate::counters::{self, LoginOutcome};
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::mail;
use crate::services::Services;
use crate::throttle::{self, Checked};
use crate::tokens::{IssuedTokens, sign_tokens};

/// `POST /auth/login` and `/auth/login/oauth`: checks the password and opens a session on this device.
///
/// Three steps, so that no thread is held while a password is hashed: (1) on the blocking pool, reserve
/// an attempt on the account's throttle counter and load the account; (2) await the verification on the
/// hashing pool; (3) on the blocking pool, record the outcome and, for a correct password, open the
/// session in one transaction that holds the user's row lock. Unknown emails take the same steps: their
/// attempts are counted and they cost one verification (against the dummy hash), so neither the answer nor
/// the time tells whether an account exists.
///
/// A ticket for the hashing pool is awaited before anything else, so a login that is shed (503, when too
/// many are waiting or after `HASH_MAX_WAIT_MS`) is shed before it costs the database anything. `device` describes the client; it is called on the
/// blocking pool, as parsing a User-Agent costs about a hundred microseconds.
pub async fn login(
    svc: &Arc<Services>,
    email: &str,
    password: String,
    device: impl FnOnce() -> DeviceInfo + Send + 'static,
) -> Result<IssuedTokens, ServiceError> {
    login_from(svc, Credentials { email, password, device_token: None }, device).await
}

/// What a login presents.
#[derive(Debug, Clone)]
pub struct Credentials<'a> {
    pub email: &'a str,
    pub password: String,
    /// The device token a previous login of this device handed out (cookie or `X-Device-Token`), if any.
    pub device_token: Option<String>,
}

/// [`login`], with the device token the client presents: while the account is throttled, a valid device
/// token of that account still gets its password checked, against the device's own budget.
pub async fn login_from(
    svc: &Arc<Services>,
    credentials: Credentials<'_>,
    device: impl FnOnce() -> DeviceInfo + Send + 'static,
) -> Result<IssuedTokens, ServiceError> {
    let result = attempt_login(svc, credentials, device).await;
    match &result {
        Ok(_) => counters::login(LoginOutcome::Succeeded),
        Err(ServiceError::InvalidCredentials | ServiceError::InactiveAccount) => counters::login(LoginOutcome::Failed),
        Err(ServiceError::LoginThrottled { .. }) => counters::login(LoginOutcome::Throttled),
        // Invalid input, a shed request or an outage is not an attempt at the password.
        Err(_) => {}
    }
    result
}

async fn attempt_login(
    svc: &Arc<Services>,
    credentials: Credentials<'_>,
    device: impl FnOnce() -> DeviceInfo + Send + 'static,
) -> Result<IssuedTokens, ServiceError> {
    let Credentials { email, password, device_token } = credentials;
    let email = Email::parse(email)?;
    if !latchkey_domain::password::within_max_length(&password) {
        // No account has such a password (the policy caps new ones): wrong, without holding it while the
        // login waits for a hashing slot, or hashing megabytes.
        return Err(ServiceError::InvalidCredentials);
    }
    // A forged, expired or foreign token is simply no token: it exempts nothing and is replaced.
    let known = device_token.and_then(|token| svc.device_tokens.verify(&token, svc.now()).ok());
    let checked = throttle::check_password(svc, password.clone(), move |svc| {
        let mut conn = svc.db.conn()?;
        let user = users::find_by_email(&mut conn, email.as_str())?.filter(|u| u.deleted_at.is_none());
        let user_id = user.as_ref().map(|u| u.id.0);
        let attempt = throttle::reserve_login(svc, &mut conn, &email, user_id, known.as_ref(), svc.now())?;
        let mut device = device();
        device.location = svc.geoip.locate_text(device.ip_address.as_deref());
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        Ok((attempt, stored, (user, device)))
    })
    .await?;
    let Checked { attempt, verification, found: (user, device), ticket } = checked;
    let (user, needs_rehash) = match (user, verification) {
        (Some(user), Verification::Valid { needs_rehash }) if user.is_active => (user, needs_rehash),
        // The ticket is still held: a flood's failed logins write their events (a commit each) at most
        // `2 × HASH_WORKERS` at a time, and cannot fill the database gate ahead of everyone else's
        // requests while their commits wait for the WAL.
        (user, verification) => return Err(refuse(svc, user, verification, device).await),
    };
    drop(ticket);
    // Legacy bcrypt (or outdated argon2) hashes are upgraded now that we know the password. When the
    // hashing pool is overloaded the upgrade waits for a later login; this one still succeeds.
    let new_hash = if needs_rehash {
        match svc.hashing.hash(password).await {
            Ok(hash) => Some(hash),
            Err(ServiceError::Overloaded { .. }) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    // The device keeps its id (and so its budget) when it logs in to the same account again.
    let device_id = known.filter(|k| k.user_id == user.id.0).map_or_else(uuid::Uuid::new_v4, |k| k.device_id);
    svc.blocking(move |svc| open_session(svc, &user, &attempt, new_hash.as_deref(), &device, device_id)).await
}

/// A refused login: records its `login_failed` event and returns its error (or the error of the write).
async fn refuse(
    svc: &Arc<Services>,
    user: Option<UserRow>,
    verification: Verification,
    device: DeviceInfo,
) -> ServiceError {
    let (reason, error) = match (&user, verification) {
        (None, _) => ("unknown_email", ServiceError::InvalidCredentials),
        (Some(_), Verification::Invalid) => ("wrong_password", ServiceError::InvalidCredentials),
        (Some(_), Verification::Valid { .. }) => ("inactive", ServiceError::InactiveAccount),
    };
    let written = svc
        .blocking(move |svc| {
            let mut conn = svc.db.conn()?;
            let ctx = EventContext { user_id: user.map(|u| u.id.0), session_id: None, device: Some(&device) };
            record_event(&mut conn, svc.now(), SecurityEventKind::LoginFailed, ctx, Some(json!({"reason": reason})))
        })
        .await;
    written.err().unwrap_or(error)
}

/// The session a successful login opens, as its transaction writes it.
struct Opening<'a> {
    user: &'a UserRow,
    attempt: &'a throttle::Attempt,
    new_hash: Option<&'a str>,
    device: &'a DeviceInfo,
    session_id: uuid::Uuid,
    jti: uuid::Uuid,
    expires_at: DateTime<Utc>,
    absolute: DateTime<Utc>,
    now: DateTime<Utc>,
}

/// The last step of a successful login: clears the throttle counter, upgrades the hash, makes room under
/// `MAX_SESSIONS_PER_USER` and creates the session, all in one transaction.
fn open_session(
    svc: &Services,
    user: &UserRow,
    attempt: &throttle::Attempt,
    new_hash: Option<&str>,
    device: &DeviceInfo,
    device_id: uuid::Uuid,
) -> Result<IssuedTokens, ServiceError> {
    let now = svc.now();
    let absolute = now + svc.policy.lifetimes.absolute;
    let opening = Opening {
        user,
        attempt,
        new_hash,
        device,
        session_id: uuid::Uuid::new_v4(),
        jti: uuid::Uuid::new_v4(),
        expires_at: svc.policy.lifetimes.refresh_expiry(now, absolute),
        absolute,
        now,
    };
    let (session_id, expires_at) = (opening.session_id, opening.expires_at);
    let (access_token, refresh_token) = sign_tokens(svc, user, session_id, opening.jti, now, expires_at)?;
    let mut conn = svc.db.conn()?;
    let (evicted, alert) = write_transaction(&mut conn, |c| open_in(svc, c, &opening))?;
    // Committed: the sessions the cap ended, and a rehashed account, are forgotten by the session cache.
    svc.cache.forget_sessions(user.id.0, &evicted);
    svc.cache.forget_lists(&[user.id.0]);
    if new_hash.is_some() {
        svc.cache.forget_users(&[user.id.0]);
    }
    if let Some(alert) = alert {
        alerts::send(svc, alert);
    }
    counters::session_created();
    counters::sessions_revoked(RevokeReason::Evicted.as_str(), evicted.len());
    Ok(IssuedTokens {
        access_token,
        refresh_token,
        expires_in: svc.policy.lifetimes.access.num_seconds(),
        user: user.clone().into(),
        session_id,
        device_token: Some(svc.device_tokens.issue(user.id.0, device_id, now, svc.policy.known_device)),
    })
}

/// [`open_session`]'s transaction: returns the sessions the cap ended and the new-device alert to send.
fn open_in(
    svc: &Services,
    c: &mut AnyConnection,
    o: &Opening<'_>,
) -> Result<(Vec<uuid::Uuid>, Option<mail::Email>), ServiceError> {
    let (user, now) = (o.user, o.now);
    // Session creation for one user runs one at a time (the row lock is held until commit), so
    // concurrent logins cannot both see room under the limit. The locked row must still be the account
    // the password was verified against: a password set, a reset, a deactivation or a deletion that
    // committed meanwhile ended every session, and this login must not open one after it.
    let locked = users::lock(c, &[user.id.0])?.pop();
    let unchanged =
        locked.is_some_and(|now| now.password_hash == user.password_hash && now.is_active && now.deleted_at.is_none());
    if !unchanged {
        return Err(ServiceError::InvalidCredentials);
    }
    // The throttle row after the user row, as every password check takes them.
    throttle::clear(c, o.attempt)?;
    if let Some(hash) = o.new_hash {
        // Only if the hash is still the one just verified: a concurrent password change wins.
        users::swap_password_hash(c, user.id.0, user.password_hash.as_deref(), hash, Ts(now))?;
    }
    let evicted = make_room(svc, c, o)?;
    sessions::create(c, &new_session(o))?;
    // Judged before this login's own event is written, under the user's row lock (see `alerts`).
    let alert = alerts::judge_login(svc, c, user, o.session_id, o.device, now)?;
    let ctx = EventContext { user_id: Some(user.id.0), session_id: Some(o.session_id), device: Some(o.device) };
    record_event(c, now, SecurityEventKind::LoginSucceeded, ctx, None)?;
    Ok((evicted, alert))
}

/// Ends the user's least recently used sessions beyond `MAX_SESSIONS_PER_USER - 1` (none when unlimited),
/// recording each; returns them.
fn make_room(svc: &Services, c: &mut AnyConnection, o: &Opening<'_>) -> Result<Vec<uuid::Uuid>, ServiceError> {
    let max_sessions = svc.policy.max_sessions_per_user as usize;
    if max_sessions == 0 {
        return Ok(Vec::new());
    }
    let reason = RevokeReason::Evicted.as_str();
    let evicted = sessions::evict_least_recently_used(c, o.user.id.0, max_sessions - 1, reason, Ts(o.now))?;
    for &id in &evicted {
        let ctx = EventContext { user_id: Some(o.user.id.0), session_id: Some(id), device: Some(o.device) };
        record_event(c, o.now, SecurityEventKind::SessionRevoked, ctx, Some(json!({"reason": reason})))?;
    }
    Ok(evicted)
}

/// The row of the session a login opens.
fn new_session(o: &Opening<'_>) -> NewSession {
    let device = o.device;
    NewSession {
        id: Id(o.session_id),
        user_id: o.user.id,
        refresh_token_jti: o.jti.to_string(),
        device_name: Some(device.device_name.clone()),
        device_id: device.device_id.clone(),
        ip_address: device.ip_address.clone(),
        user_agent: device.user_agent.clone(),
        location_city: device.location.city.clone(),
        location_country: device.location.country.clone(),
        last_used_at: Ts(o.now),
        expires_at: Ts(o.expires_at),
        absolute_expires_at: Ts(o.absolute),
        is_active: true,
        created_at: Ts(o.now),
        updated_at: Ts(o.now),
    }
}
