//! Device tokens: what a browser or app keeps after a successful login (the `latchkey_device` cookie, or
//! the `X-Device-Token` header) so that a lockout of its account cannot shut it out. OWASP's "device
//! cookies": while an account's login throttle refuses everyone, a login that presents a valid device token
//! of that account is still checked, against a small failure budget of the device's own.
//!
//! A token binds the account (its user id), a random device id (the key of the device's own budget) and an
//! expiry; it is signed with a key derived from the server secret for this purpose only, so it cannot be
//! forged or moved to another account, and nothing about it is stored.
//!
//! Payload: `version (1 byte) || user id (16) || device id (16) || exp (i64 big-endian)`.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::AuthError;
use crate::signed::Signer;

const VERSION: u8 = 1;
const PURPOSE: &[u8] = b"latchkey device token v1";
/// Longer than any token we issue (about 100 characters); longer input is refused before decoding.
const MAX_TOKEN_LEN: usize = 256;

/// Issues and verifies device tokens.
#[derive(Clone)]
pub struct DeviceTokens {
    signer: Signer,
}

impl fmt::Debug for DeviceTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceTokens(***)")
    }
}

/// What an authentic, unexpired device token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceClaims {
    /// The account the device logged in to.
    pub user_id: Uuid,
    /// The device: the key of its own failure budget, kept when the token is renewed.
    pub device_id: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

impl DeviceTokens {
    /// The key is HMAC-SHA256(secret, "latchkey device token v1").
    #[must_use]
    pub fn new(secret: &[u8]) -> DeviceTokens {
        DeviceTokens { signer: Signer::new(secret, PURPOSE) }
    }

    /// A token for `device_id` on `user_id`'s account, valid for `ttl` from `now`.
    #[must_use]
    pub fn issue(&self, user_id: Uuid, device_id: Uuid, now: DateTime<Utc>, ttl: TimeDelta) -> String {
        self.signer.sign_ids(VERSION, [user_id, device_id], now.timestamp().saturating_add(ttl.num_seconds()))
    }

    /// Checks the MAC (constant time) and the expiry.
    ///
    /// # Errors
    /// `Expired` for an authentic token past its expiry; `Invalid` for anything else.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<DeviceClaims, AuthError> {
        let ([user_id, device_id], exp) = self.signer.open_ids(token, MAX_TOKEN_LEN, VERSION, now.timestamp())?;
        Ok(DeviceClaims { user_id, device_id, exp })
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
        let tokens = DeviceTokens::new(SECRET);
        let (user, device) = (Uuid::new_v4(), Uuid::new_v4());
        let token = tokens.issue(user, device, now(), TimeDelta::days(90));
        assert!(token.len() < MAX_TOKEN_LEN);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'), "{token}");
        let claims = tokens.verify(&token, now()).expect("verify");
        assert_eq!((claims.user_id, claims.device_id), (user, device));
        assert!(tokens.verify(&token, now() + TimeDelta::days(90)).is_ok());
        assert!(matches!(tokens.verify(&token, now() + TimeDelta::days(91)), Err(AuthError::Expired)));
        // Another secret, another purpose's key (a reset token's), a tampered or truncated token.
        let other =
            DeviceTokens::new(b"another secret entirely, also long").issue(user, device, now(), TimeDelta::days(1));
        assert!(matches!(tokens.verify(&other, now()), Err(AuthError::Invalid)));
        let reset = crate::ResetTokens::new(SECRET).issue(user, "fp", now());
        assert!(matches!(tokens.verify(&reset, now()), Err(AuthError::Invalid)));
        let mut tampered = token.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert!(matches!(tokens.verify(&String::from_utf8(tampered).unwrap(), now()), Err(AuthError::Invalid)));
        for junk in ["", ".", "a.b", &token[..token.len() - 2], &"x".repeat(10_000)] {
            assert!(matches!(tokens.verify(junk, now()), Err(AuthError::Invalid)), "{junk:.20}");
        }
    }
}
