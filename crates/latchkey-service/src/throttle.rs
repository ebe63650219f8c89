//! The per-account login throttle. Every password check for an account (login, and the current password of
//! a password change) first reserves an attempt on the account's counter; past `LOGIN_MAX_FAILURES`
//! attempts in the window the check is refused with 429 before any password is verified. The reservation is
//! one atomic upsert, so concurrent attempts can never verify more passwords than the limit. A success
//! clears the counter. The counter is keyed by a keyed hash of the normalised email, whether or not an
//! account has that email, so the throttle answers the same for registered and unknown addresses.
//!
//! [`check_password`] is that password check, the one flow both a login and a password change take:
//! reserve an attempt, verify on the hashing pool, give the attempt back when nothing was verified.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_auth::{DeviceClaims, Verification};
use latchkey_db::repo::throttle;
use latchkey_db::{AnyConnection, PooledConn, Ts, write_transaction};
use latchkey_domain::Email;

use crate::error::ServiceError;
use crate::hash_pool::Ticket;
use crate::services::Services;

/// A reserved attempt: give it back with [`release`] if no password was verified, or [`clear`] the counter
/// after a success.
#[derive(Debug, Clone)]
pub struct Attempt {
    key: String,
    window_start: Ts,
}

/// Reserves one attempt for `email`; `LoginThrottled` (with the seconds until the window ends) when the
/// account already used its attempts.
pub fn reserve(
    svc: &Services,
    conn: &mut PooledConn,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Attempt, ServiceError> {
    let key = svc.throttle_keys.account_key(email.as_str());
    reserve_key(svc, conn, key, svc.policy.login_max_failures, now)
}

/// Reserves one attempt for a login of `email` (the account `user_id`, `None` when no account has that
/// email): on the account's counter; but when the account is throttled and the login presents a valid device
/// token of that very account (`device`), on that device's own budget (`DEVICE_MAX_FAILURES` in the
/// window) instead. So whoever knows only the email cannot lock the owner out of a device they used
/// before, while the device's own wrong guesses are bounded like the account's. A device token of another
/// account exempts nothing. Both reservations are one atomic upsert each: no more than the budget is ever
/// verified, however many logins race.
pub fn reserve_login(
    svc: &Services,
    conn: &mut PooledConn,
    email: &Email,
    user_id: Option<uuid::Uuid>,
    device: Option<&DeviceClaims>,
    now: DateTime<Utc>,
) -> Result<Attempt, ServiceError> {
    match (reserve(svc, conn, email, now), device) {
        (Err(ServiceError::LoginThrottled { .. }), Some(device)) if Some(device.user_id) == user_id => {
            let key = svc.throttle_keys.device_key(&device.device_id);
            reserve_key(svc, conn, key, svc.policy.device_max_failures, now)
        }
        (outcome, _) => outcome,
    }
}

/// Reserves one attempt on the counter `key`, allowing `limit` in the window.
fn reserve_key(
    svc: &Services,
    conn: &mut PooledConn,
    key: String,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Attempt, ServiceError> {
    let window = svc.policy.login_window;
    let reservation = write_transaction(conn, |c| -> Result<_, ServiceError> {
        Ok(throttle::reserve(c, &key, Ts(now), Ts(now - window))?)
    })?;
    if i64::from(reservation.attempts) > i64::from(limit) {
        let wait = (reservation.window_start.0 + window - now).num_seconds().max(1);
        return Err(ServiceError::LoginThrottled { retry_after_secs: u64::try_from(wait).unwrap_or(1) });
    }
    Ok(Attempt { key, window_start: reservation.window_start })
}

/// Gives back an attempt whose password was never verified (the hashing pool shed it).
fn release(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), ServiceError> {
    Ok(throttle::release(conn, &attempt.key, attempt.window_start)?)
}

/// Resets the account's counter after a correct password.
pub fn clear(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), ServiceError> {
    Ok(throttle::clear(conn, &attempt.key)?)
}

/// A password checked under the throttle: the reserved attempt (to [`clear`] once the change it allows is
/// written), the verification, what the reservation step found, and the hashing pool's ticket, still held
/// (so that a flood's failed checks write their events at most `2 × HASH_WORKERS` at a time).
#[derive(Debug)]
pub(crate) struct Checked<T> {
    pub attempt: Attempt,
    pub verification: Verification,
    pub found: T,
    pub ticket: Ticket,
}

/// The throttled password check of a login or of a password change. A ticket for the hashing pool is
/// awaited first, so a check that is shed (503) costs the database nothing. Then `reserve` runs on the
/// blocking pool: it reserves an attempt on the account's counter and returns it with the stored hash to
/// verify against (and whatever else it found). The password is then verified on the hashing pool; when
/// nothing was verified (the pool shed it) the attempt is given back and the error returned.
pub(crate) async fn check_password<T: Send + 'static>(
    svc: &Arc<Services>,
    password: String,
    reserve: impl FnOnce(&Services) -> Result<(Attempt, Option<String>, T), ServiceError> + Send + 'static,
) -> Result<Checked<T>, ServiceError> {
    let ticket = svc.hashing.ticket().await?;
    let (attempt, stored, found) = svc.blocking(reserve).await?;
    match ticket.verify(password, stored).await {
        Ok(verification) => Ok(Checked { attempt, verification, found, ticket }),
        Err(e) => {
            // Nothing was verified: give the attempt back.
            svc.blocking(move |svc| {
                let mut conn = svc.db.conn()?;
                write_transaction(&mut conn, |c| release(c, &attempt))
            })
            .await?;
            Err(e)
        }
    }
}
