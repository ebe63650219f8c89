//! The per-account login throttle. Every password check for an account (login, and the current password of
//! a password change) first reserves an attempt on the account's counter; past `LOGIN_MAX_FAILURES`
//! attempts in the window the check is refused with 429 before any password is verified. The reservation is
//! one atomic upsert, so concurrent attempts can never verify more passwords than the limit. A success
//! clears the counter. The counter is keyed by a keyed hash of the normalised email, whether or not an
//! account has that email, so the throttle answers the same for registered and unknown addresses.

use chrono::{DateTime, Utc};
use latchkey_db::repo::throttle;
use latchkey_db::{AnyConnection, PooledConn, Ts, write_transaction};
use latchkey_domain::Email;

use crate::error::ServiceError;
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
    let window = svc.policy.login_window;
    let reservation = write_transaction(conn, |c| -> Result<_, ServiceError> {
        Ok(throttle::reserve(c, &key, Ts(now), Ts(now - window))?)
    })?;
    if i64::from(reservation.attempts) > i64::from(svc.policy.login_max_failures) {
        let wait = (reservation.window_start.0 + window - now).num_seconds().max(1);
        return Err(ServiceError::LoginThrottled { retry_after_secs: u64::try_from(wait).unwrap_or(1) });
    }
    Ok(Attempt { key, window_start: reservation.window_start })
}

/// Gives back an attempt whose password was never verified (the hashing pool shed it).
pub fn release(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), ServiceError> {
    Ok(throttle::release(conn, &attempt.key, attempt.window_start)?)
}

/// Resets the account's counter after a correct password.
pub fn clear(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), ServiceError> {
    Ok(throttle::clear(conn, &attempt.key)?)
}
