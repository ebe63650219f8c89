//! Registration, login, refresh-token rotation, logout, and the per-request authentication check.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_auth::{AccessClaims, AuthError, RefreshClaims, TokenType, Verification};
use latchkey_db::models::{NewSession, NewUser, SessionRow, UserRow};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{DbError, Id, Json, Ts, write_statements, write_transaction};
use latchkey_domain::{DeviceInfo, Email, RevokeReason, SecurityEventKind, validate_password};
use serde_json::json;

use crate::alerts;
use crate::caller::Caller;
use crate::counters::{self, LoginOutcome};
use crate::error::ServiceError;
use crate::mail;
use crate::services::{EventContext, Services, record_event};
use crate::throttle;
use crate::user_fields::UserFields;
use crate::views::{Session, User};

/// Messages clients see; kept in one place so tests and handlers agree.
pub mod messages {
    pub const SESSION_REVOKED: &str = "Session has been revoked";
    pub const SESSION_REVOKED_LOGIN_AGAIN: &str = "Session has been revoked. Please log in again.";
    pub const INVALID_REFRESH: &str = "Invalid refresh token";
    pub const REFRESH_EXPIRED: &str = "Refresh token has expired. Please log in again.";
    pub const TOKEN_EXPIRED: &str = "Token expired";
    pub const BAD_CREDENTIALS: &str = "Could not validate credentials";
    pub const REGISTRATION_FAILED: &str = "Registration failed. Please check your information and try again.";
    pub const INACTIVE_USER: &str = "Inactive user";
}

/// A new account as submitted.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// Tokens for a session, plus the user they belong to.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    pub user: User,
    pub session_id: uuid::Uuid,
    /// A login's device token (see `latchkey_auth::DeviceTokens`): the client keeps it, and a later login
    /// that presents it is not shut out by a lockout of the account. `None` for a refresh.
    pub device_token: Option<String>,
}

/// A request that passed the authentication check: the caller's account and session as views (their
/// fields moved out of the rows the check loaded, never copied).
#[derive(Clone)]
pub struct Authenticated {
    pub user: User,
    pub session: Session,
    /// What a password check (`PATCH /users/me/password`) verifies against; it never leaves this crate.
    password_hash: Option<String>,
}

/// Leaves the password hash out.
impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("user", &self.user)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Authenticated {
    pub(crate) fn new(user: User, session: Session, password_hash: Option<String>) -> Authenticated {
        Authenticated { user, session, password_hash }
    }

    /// The caller as the authentication check would see them, from their rows (tests build callers with
    /// it; requests get theirs from `authenticate`).
    pub fn from_rows(mut user: UserRow, session: SessionRow) -> Authenticated {
        let password_hash = user.password_hash.take();
        Authenticated::new(user.into(), session.into(), password_hash)
    }

    /// An active caller with a session live for 7 days from `now` (unit tests of this crate).
    #[cfg(test)]
    pub(crate) fn for_tests(superuser: bool, now: DateTime<Utc>) -> Authenticated {
        let user = User {
            id: uuid::Uuid::new_v4(),
            email: "a@example.com".into(),
            first_name: "A".into(),
            last_name: None,
            phone_number: None,
            is_active: true,
            is_superuser: superuser,
            preferences: None,
            locale: None,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        };
        let session = Session {
            id: uuid::Uuid::new_v4(),
            user_id: user.id,
            device_name: Some("Phone".into()),
            device_id: None,
            ip_address: None,
            location_city: None,
            location_country: None,
            last_used_at: now,
            created_at: now,
            expires_at: now + chrono::Duration::days(7),
            is_active: true,
            revoked_at: None,
            revoked_reason: None,
        };
        Authenticated::new(user, session, Some("$argon2id$hash".into()))
    }

    /// The caller's user id.
    pub fn user_id(&self) -> uuid::Uuid {
        self.user.id
    }

    /// The caller's session id.
    pub fn session_id(&self) -> uuid::Uuid {
        self.session.id
    }

    /// The caller's stored password hash (`None` for an account without a password).
    pub(crate) fn password_hash(&self) -> Option<&str> {
        self.password_hash.as_deref()
    }
}

/// Validates a registration, collecting every broken rule; returns the email and the normalised phone.
fn validate_registration(r: &Registration) -> Result<(Email, Option<String>), ServiceError> {
    let email = Email::parse(&r.email);
    let fields = UserFields {
        first_name: Some(r.first_name.clone()),
        last_name: Some(r.last_name.clone()),
        phone_number: Some(r.phone_number.clone()),
        password: Some(r.password.clone()),
        ..UserFields::default()
    }
    .validate();
    match (email, fields) {
        (Ok(email), Ok(fields)) => Ok((email, fields.phone_number.flatten())),
        (email, fields) => {
            let mut errors: Vec<_> = email.err().into_iter().collect();
            errors.extend(fields.err().unwrap_or_default());
            Err(ServiceError::Validation(errors))
        }
    }
}

/// `POST /auth/register`: creates an active, non-superuser account (whatever the body says about those).
/// The password is hashed on the hashing pool (a 503 when it is overloaded), then the row is inserted.
pub async fn register(svc: &Arc<Services>, r: Registration) -> Result<User, ServiceError> {
    let (email, phone) = validate_registration(&r)?;
    let hash = svc.hashing.hash(r.password.clone()).await?;
    svc.blocking(move |svc| {
        let now = svc.now();
        let new = NewUser {
            id: Id(uuid::Uuid::new_v4()),
            email: email.into_string(),
            password_hash: Some(hash),
            first_name: r.first_name,
            last_name: r.last_name,
            phone_number: phone,
            is_active: true,
            is_superuser: false,
            preferences: Some(Json(json!({}))),
            locale: None,
            created_at: Ts(now),
            updated_at: Ts(now),
        };
        let mut conn = svc.db.conn()?;
        match users::create(&mut conn, &new) {
            Ok(user) => Ok(user.into()),
            Err(DbError::Conflict { .. }) => Err(ServiceError::BadRequest(messages::REGISTRATION_FAILED)),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// Creates a superuser, or promotes nothing and returns `Ok(false)` when the email is taken. Synchronous:
/// for the CLI and start-up, outside any request.
pub fn create_superuser(svc: &Services, email: &str, password: &str) -> Result<bool, ServiceError> {
    let email = Email::parse(email)?;
    validate_password(password)?;
    let mut conn = svc.db.conn()?;
    if users::find_by_email(&mut conn, email.as_str())?.is_some() {
        return Ok(false);
    }
    // A one-off command (or start-up step), not a request: it hashes on the calling thread.
    let hash = svc.hasher.hash(password)?;
    let now = svc.now();
    let new = NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.into_string(),
        password_hash: Some(hash),
        first_name: "Admin".to_owned(),
        last_name: None,
        phone_number: None,
        is_active: true,
        is_superuser: true,
        preferences: Some(Json(json!({}))),
        locale: None,
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    match users::create(&mut conn, &new) {
        Ok(_) => Ok(true),
        Err(DbError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Signs the pair of tokens for a session.
fn sign_tokens(
    svc: &Services,
    user: &UserRow,
    session_id: uuid::Uuid,
    refresh_jti: uuid::Uuid,
    now: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
) -> Result<(String, String), ServiceError> {
    let access = AccessClaims {
        sub: user.id.0,
        exp: (now + svc.policy.lifetimes.access).timestamp(),
        iat: now.timestamp(),
        jti: uuid::Uuid::new_v4(),
        token_type: TokenType::Access,
        sid: session_id,
        is_superuser: user.is_superuser,
        email: user.email.clone(),
        first_name: user.first_name.clone(),
    };
    let refresh = RefreshClaims {
        sub: user.id.0,
        exp: refresh_expires_at.timestamp(),
        iat: now.timestamp(),
        jti: refresh_jti,
        token_type: TokenType::Refresh,
        sid: session_id,
    };
    Ok((svc.tokens.encode_access(&access)?, svc.tokens.encode_refresh(&refresh)?))
}

/// What the first step of a login found.
struct LoginCandidate {
    attempt: throttle::Attempt,
    /// `None` for an unknown or deleted account.
    user: Option<UserRow>,
    device: DeviceInfo,
}

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
    let ticket = svc.hashing.ticket().await?;
    let LoginCandidate { attempt, user, device } = svc
        .blocking(move |svc| {
            let mut conn = svc.db.conn()?;
            let user = users::find_by_email(&mut conn, email.as_str())?.filter(|u| u.deleted_at.is_none());
            let user_id = user.as_ref().map(|u| u.id.0);
            let attempt = throttle::reserve_login(svc, &mut conn, &email, user_id, known.as_ref(), svc.now())?;
            let mut device = device();
            device.location = svc.geoip.locate_text(device.ip_address.as_deref());
            Ok(LoginCandidate { attempt, user, device })
        })
        .await?;

    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verification = match ticket.verify(password.clone(), stored).await {
        Ok(v) => v,
        Err(e) => {
            // Nothing was verified: give the attempt back.
            svc.blocking(move |svc| {
                let mut conn = svc.db.conn()?;
                write_transaction(&mut conn, |c| throttle::release(c, &attempt))
            })
            .await?;
            return Err(e);
        }
    };

    let (user, needs_rehash) = match (user, verification) {
        (Some(user), Verification::Valid { needs_rehash }) if user.is_active => (user, needs_rehash),
        (user, verification) => {
            let (reason, error) = match (&user, verification) {
                (None, _) => ("unknown_email", ServiceError::InvalidCredentials),
                (Some(_), Verification::Invalid) => ("wrong_password", ServiceError::InvalidCredentials),
                (Some(_), Verification::Valid { .. }) => ("inactive", ServiceError::InactiveAccount),
            };
            // The ticket is still held: a flood's failed logins write their events (a commit each) at most
            // `2 × HASH_WORKERS` at a time, and cannot fill the database gate ahead of everyone else's
            // requests while their commits wait for the WAL.
            svc.blocking(move |svc| {
                let mut conn = svc.db.conn()?;
                let ctx = EventContext { user_id: user.map(|u| u.id.0), session_id: None, device: Some(&device) };
                record_event(&mut conn, svc.now(), SecurityEventKind::LoginFailed, ctx, Some(json!({"reason": reason})))
            })
            .await?;
            return Err(error);
        }
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
    let ctx = EventContext { user_id: Some(user.id.0), session_id: None, device: Some(device) };
    let session_id = uuid::Uuid::new_v4();
    let jti = uuid::Uuid::new_v4();
    let absolute = now + svc.policy.lifetimes.absolute;
    let expires_at = svc.policy.lifetimes.refresh_expiry(now, absolute);
    let (access_token, refresh_token) = sign_tokens(svc, user, session_id, jti, now, expires_at)?;
    let max_sessions = svc.policy.max_sessions_per_user as usize;

    let mut conn = svc.db.conn()?;
    let (evicted, alert) =
        write_transaction(&mut conn, |c| -> Result<(Vec<uuid::Uuid>, Option<mail::Email>), ServiceError> {
            // Session creation for one user runs one at a time (the row lock is held until commit), so
            // concurrent logins cannot both see room under the limit. The locked row must still be the account
            // the password was verified against: a password set, a reset, a deactivation or a deletion that
            // committed meanwhile ended every session, and this login must not open one after it.
            let locked = users::lock(c, &[user.id.0])?.pop();
            let unchanged = locked.is_some_and(|now| {
                now.password_hash == user.password_hash && now.is_active && now.deleted_at.is_none()
            });
            if !unchanged {
                return Err(ServiceError::InvalidCredentials);
            }
            // The throttle row after the user row, as every password check takes them.
            throttle::clear(c, attempt)?;
            if let Some(hash) = new_hash {
                // Only if the hash is still the one just verified: a concurrent password change wins.
                users::swap_password_hash(c, user.id.0, user.password_hash.as_deref(), hash, Ts(now))?;
            }
            let mut evicted = Vec::new();
            if max_sessions > 0 {
                evicted = sessions::evict_least_recently_used(
                    c,
                    user.id.0,
                    max_sessions - 1,
                    RevokeReason::Evicted.as_str(),
                    Ts(now),
                )?;
                for &id in &evicted {
                    record_event(
                        c,
                        now,
                        SecurityEventKind::SessionRevoked,
                        EventContext { session_id: Some(id), ..ctx },
                        Some(json!({"reason": RevokeReason::Evicted.as_str()})),
                    )?;
                }
            }
            sessions::create(
                c,
                &NewSession {
                    id: Id(session_id),
                    user_id: user.id,
                    refresh_token_jti: jti.to_string(),
                    device_name: Some(device.device_name.clone()),
                    device_id: device.device_id.clone(),
                    ip_address: device.ip_address.clone(),
                    user_agent: device.user_agent.clone(),
                    location_city: device.location.city.clone(),
                    location_country: device.location.country.clone(),
                    last_used_at: Ts(now),
                    expires_at: Ts(expires_at),
                    absolute_expires_at: Ts(absolute),
                    is_active: true,
                    created_at: Ts(now),
                    updated_at: Ts(now),
                },
            )?;
            // Judged before this login's own event is written, under the user's row lock (see `alerts`).
            let alert = alerts::judge_login(svc, c, user, session_id, device, now)?;
            record_event(
                c,
                now,
                SecurityEventKind::LoginSucceeded,
                EventContext { session_id: Some(session_id), ..ctx },
                None,
            )?;
            Ok((evicted, alert))
        })?;
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
    let outcome = write_transaction(&mut conn, |c| -> Result<RefreshOutcome, ServiceError> {
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
            || (session.previous_refresh_jti.as_deref() == Some(presented.as_str())
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
        } else {
            sessions::revoke(c, claims.sid, RevokeReason::RefreshTokenReuse.as_str(), Ts(now))?;
            record_event(
                c,
                now,
                SecurityEventKind::RefreshTokenReuse,
                ctx,
                Some(json!({"presented_jti": presented, "within_grace_window": false, "session_revoked": true})),
            )?;
            tracing::warn!(user_id = %user.id.0, session_id = %claims.sid, "refresh token reuse: session revoked");
            return Ok(RefreshOutcome::ReuseDetected);
        }
        Ok(RefreshOutcome::Refused(messages::SESSION_REVOKED_LOGIN_AGAIN))
    })?;
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
