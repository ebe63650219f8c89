//! "Not me" tokens: the link in a new-device alert. A token names the alert (its id, the key that makes it
//! single use), the account and the session the alert is about, and expires after seven days; it is signed
//! with a key derived from the server secret for this purpose only, so it cannot be forged or pointed at
//! another session.
//!
//! Payload: `version (1 byte) || alert id (16) || user id (16) || session id (16) || exp (i64 big-endian)`.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::AuthError;
use crate::signed::Signer;

const VERSION: u8 = 1;
const PURPOSE: &[u8] = b"latchkey not-me v1";
/// Longer than any token we issue (about 130 characters); longer input is refused before decoding.
const MAX_TOKEN_LEN: usize = 256;
/// How long a "not me" link works.
pub const ALERT_TOKEN_TTL: TimeDelta = TimeDelta::days(7);

/// Issues and verifies "not me" tokens.
#[derive(Clone)]
pub struct AlertTokens {
    signer: Signer,
}

impl fmt::Debug for AlertTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AlertTokens(***)")
    }
}

/// What an authentic, unexpired "not me" token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertClaims {
    /// The alert: a token is used once, recorded under this id.
    pub alert_id: Uuid,
    pub user_id: Uuid,
    /// The session the alert is about, which "not me" ends.
    pub session_id: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

impl AlertTokens {
    /// The key is HMAC-SHA256(secret, "latchkey not-me v1").
    #[must_use]
    pub fn new(secret: &[u8]) -> AlertTokens {
        AlertTokens { signer: Signer::new(secret, PURPOSE) }
    }

    /// A token for a new alert about `session_id` of `user_id`, valid for [`ALERT_TOKEN_TTL`] from `now`.
    #[must_use]
    pub fn issue(&self, alert_id: Uuid, user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> String {
        let exp = now.timestamp().saturating_add(ALERT_TOKEN_TTL.num_seconds());
        self.signer.sign_ids(VERSION, [alert_id, user_id, session_id], exp)
    }

    /// Checks the MAC (constant time) and the expiry.
    ///
    /// # Errors
    /// `Expired` for an authentic token past its expiry; `Invalid` for anything else.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AlertClaims, AuthError> {
        let ([alert_id, user_id, session_id], exp) =
            self.signer.open_ids(token, MAX_TOKEN_LEN, VERSION, now.timestamp())?;
        Ok(AlertClaims { alert_id, user_id, session_id, exp })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000, 0).single().expect("valid timestamp")
    }

    #[test]
    fn round_trip_expiry_and_forgery() {
        let tokens = AlertTokens::new(SECRET);
        let (alert, user, session) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let token = tokens.issue(alert, user, session, now());
        assert!(token.len() < MAX_TOKEN_LEN);
        let claims = tokens.verify(&token, now()).expect("verify");
        assert_eq!((claims.alert_id, claims.user_id, claims.session_id), (alert, user, session));
        assert!(tokens.verify(&token, now() + ALERT_TOKEN_TTL).is_ok());
        assert!(matches!(
            tokens.verify(&token, now() + ALERT_TOKEN_TTL + TimeDelta::seconds(1)),
            Err(AuthError::Expired)
        ));
        let device = crate::DeviceTokens::new(SECRET).issue(user, session, now(), TimeDelta::days(1));
        assert!(matches!(tokens.verify(&device, now()), Err(AuthError::Invalid)), "another purpose's token");
        let other = AlertTokens::new(b"another secret entirely, also long").issue(alert, user, session, now());
        assert!(matches!(tokens.verify(&other, now()), Err(AuthError::Invalid)));
        for junk in ["", ".", "a.b", &token[..token.len() - 3], &"x".repeat(10_000)] {
            assert!(matches!(tokens.verify(junk, now()), Err(AuthError::Invalid)), "{junk:.20}");
        }
    }
}
