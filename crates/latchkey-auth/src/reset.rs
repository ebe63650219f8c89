//! Password-reset tokens: HMAC-signed, valid for an hour, and single use because they are bound to a
//! fingerprint of the password hash that was current when they were issued.
//!
//! Format: `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, no padding, where payload is
//! `version (1 byte) || user id (16 bytes) || exp (i64 big-endian) || fingerprint (UTF-8)`.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::AuthError;
use crate::signed::Signer;

/// How long a reset token stays valid, in seconds.
pub const RESET_TOKEN_TTL_SECS: i64 = 3600;
/// How long a reset token stays valid: one hour, as the reset email says.
pub const RESET_TOKEN_TTL: TimeDelta = TimeDelta::seconds(RESET_TOKEN_TTL_SECS);

const VERSION: u8 = 1;
const PURPOSE: &[u8] = b"latchkey password reset v1";
/// Longer than any token we issue (fingerprints are 32 hex chars); anything longer is rejected before
/// decoding so huge inputs cost nothing.
const MAX_TOKEN_LEN: usize = 512;
const HEADER_LEN: usize = 1 + 16 + 8;

/// Issues and verifies password-reset tokens with a key derived from the application secret.
#[derive(Clone)]
pub struct ResetTokens {
    signer: Signer,
}

impl fmt::Debug for ResetTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResetTokens").finish_non_exhaustive()
    }
}

/// What an authentic, unexpired reset token says. Check [`ResetClaims::matches_fingerprint`] against the
/// user's current password hash before accepting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetClaims {
    /// The user the token was issued for.
    pub user_id: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The [`password_fingerprint`] the token was issued for. Private so that the only comparison on offer
    /// is the constant-time [`ResetClaims::matches_fingerprint`].
    fingerprint_tag: String,
}

impl ResetClaims {
    /// Whether the token was issued for the password hash whose fingerprint is `current` (constant time).
    /// After the password changes this is false, which makes the token single use.
    #[must_use]
    pub fn matches_fingerprint(&self, current: &str) -> bool {
        self.fingerprint_tag.as_bytes().ct_eq(current.as_bytes()).into()
    }
}

/// Fingerprint of a stored password hash (`None` for a user without a password): hex of the first 16
/// bytes of its SHA-256. It reveals nothing usable about the hash and changes whenever the hash does.
#[must_use]
pub fn password_fingerprint(password_hash: Option<&str>) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(password_hash.unwrap_or("").as_bytes());
    let mut out = String::with_capacity(32);
    for byte in &digest[..16] {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

impl ResetTokens {
    /// Derives the reset-token key as HMAC-SHA256(secret, "latchkey password reset v1"), so the JWT secret
    /// is never used directly for a second purpose.
    #[must_use]
    pub fn new(secret: &[u8]) -> ResetTokens {
        ResetTokens { signer: Signer::new(secret, PURPOSE) }
    }

    /// A token for `user_id`, expiring `RESET_TOKEN_TTL_SECS` after `now`, bound to `password_fingerprint`
    /// (see [`password_fingerprint`]).
    #[must_use]
    pub fn issue(&self, user_id: Uuid, password_fingerprint: &str, now: DateTime<Utc>) -> String {
        let exp = now.timestamp().saturating_add(RESET_TOKEN_TTL_SECS);
        let mut payload = Vec::with_capacity(HEADER_LEN + password_fingerprint.len());
        payload.push(VERSION);
        payload.extend_from_slice(user_id.as_bytes());
        payload.extend_from_slice(&exp.to_be_bytes());
        payload.extend_from_slice(password_fingerprint.as_bytes());
        self.signer.sign(&payload)
    }

    /// Checks the MAC (constant time) and the expiry.
    ///
    /// # Errors
    /// `Expired` for an authentic token past its expiry; `Invalid` for anything else that is not an
    /// authentic, current token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ResetClaims, AuthError> {
        let payload = self.signer.open(token, MAX_TOKEN_LEN)?;
        // Authentic from here on; parse failures still mean a token we would never have issued.
        let (header, fingerprint) = payload.split_at_checked(HEADER_LEN).ok_or(AuthError::Invalid)?;
        let (version, rest) = header.split_first().ok_or(AuthError::Invalid)?;
        let (user_id, exp) = rest.split_at_checked(16).ok_or(AuthError::Invalid)?;
        if *version != VERSION {
            return Err(AuthError::Invalid);
        }
        let user_id = Uuid::from_slice(user_id).map_err(|_| AuthError::Invalid)?;
        let exp = i64::from_be_bytes(exp.try_into().map_err(|_| AuthError::Invalid)?);
        let fingerprint_tag = String::from_utf8(fingerprint.to_vec()).map_err(|_| AuthError::Invalid)?;
        if now.timestamp() > exp {
            return Err(AuthError::Expired);
        }
        Ok(ResetClaims { user_id, exp, fingerprint_tag })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::TimeZone as _;

    use super::*;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000, 0).single().expect("valid timestamp")
    }

    fn at(secs: i64) -> DateTime<Utc> {
        now() + chrono::Duration::seconds(secs)
    }

    #[test]
    fn round_trip() {
        let tokens = ResetTokens::new(SECRET);
        let user = Uuid::new_v4();
        let fp = password_fingerprint(Some("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"));
        let token = tokens.issue(user, &fp, now());
        assert!(token.len() < MAX_TOKEN_LEN);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'), "{token}");
        let claims = tokens.verify(&token, now()).expect("verify");
        assert_eq!(claims.user_id, user);
        assert_eq!(claims.exp, now().timestamp() + RESET_TOKEN_TTL_SECS);
        assert!(claims.matches_fingerprint(&fp));
        assert!(tokens.verify(&token, at(RESET_TOKEN_TTL_SECS)).is_ok());
        assert_eq!(RESET_TOKEN_TTL, chrono::Duration::hours(1));
        // Two tokens for the same user and time are equal (no nonce needed: they are interchangeable and
        // both die with the password).
        assert_eq!(tokens.issue(user, &fp, now()), token);
    }

    #[test]
    fn expired_is_expired() {
        let tokens = ResetTokens::new(SECRET);
        let token = tokens.issue(Uuid::new_v4(), &password_fingerprint(None), now());
        assert!(matches!(tokens.verify(&token, at(RESET_TOKEN_TTL_SECS + 1)), Err(AuthError::Expired)));
    }

    #[test]
    fn tampered_payload_or_mac_is_invalid() {
        let tokens = ResetTokens::new(SECRET);
        let token = tokens.issue(Uuid::new_v4(), &password_fingerprint(None), now());
        let (payload, tag) = token.split_once('.').expect("dot");

        let mut raw = URL_SAFE_NO_PAD.decode(payload).expect("b64");
        raw[1] ^= 1;
        let forged_payload = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&raw));
        assert!(matches!(tokens.verify(&forged_payload, now()), Err(AuthError::Invalid)));

        let mut raw_tag = URL_SAFE_NO_PAD.decode(tag).expect("b64");
        raw_tag[0] ^= 1;
        let forged_tag = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&raw_tag));
        assert!(matches!(tokens.verify(&forged_tag, now()), Err(AuthError::Invalid)));

        let truncated_tag = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&raw_tag[..31]));
        assert!(matches!(tokens.verify(&truncated_tag, now()), Err(AuthError::Invalid)));

        // A token whose expiry was pushed forward is a forgery, not an expired token.
        let expired = tokens.issue(Uuid::new_v4(), "fp", at(-2 * RESET_TOKEN_TTL_SECS));
        let (payload, tag) = expired.split_once('.').expect("dot");
        let mut raw = URL_SAFE_NO_PAD.decode(payload).expect("b64");
        raw[17..25].copy_from_slice(&(now().timestamp() + 60).to_be_bytes());
        let extended = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&raw));
        assert!(matches!(tokens.verify(&extended, now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn other_secret_is_invalid() {
        let token = ResetTokens::new(b"other-secret").issue(Uuid::new_v4(), "fp", now());
        assert!(matches!(ResetTokens::new(SECRET).verify(&token, now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn garbage_is_invalid() {
        let tokens = ResetTokens::new(SECRET);
        let huge = "A".repeat(1_000_000);
        let huge_dotted = format!("{huge}.{huge}");
        for token in ["", ".", "..", "abc", "abc.def", "ä.ö", "🔑.🔑", "a.b.c", huge.as_str(), huge_dotted.as_str()]
        {
            assert!(matches!(tokens.verify(token, now()), Err(AuthError::Invalid)), "{token:.40}");
        }
    }

    #[test]
    fn fingerprint_mismatch() {
        let tokens = ResetTokens::new(SECRET);
        let old = password_fingerprint(Some("$2b$12$old"));
        let new = password_fingerprint(Some("$argon2id$new"));
        assert_ne!(old, new);
        let claims = tokens.verify(&tokens.issue(Uuid::new_v4(), &old, now()), now()).expect("verify");
        assert!(claims.matches_fingerprint(&old));
        assert!(!claims.matches_fingerprint(&new));
        assert!(!claims.matches_fingerprint(""));
        assert!(!claims.matches_fingerprint(&old[..31]));
    }

    #[test]
    fn fingerprint_format() {
        let none = password_fingerprint(None);
        assert_eq!(none, password_fingerprint(Some("")));
        // SHA-256("") starts with e3b0c442 98fc1c14 9afbf4c8 996fb924.
        assert_eq!(none, "e3b0c44298fc1c149afbf4c8996fb924");
        assert_eq!(password_fingerprint(Some("x")).len(), 32);
    }

    #[test]
    fn debug_does_not_print_key() {
        let debug = format!("{:?}", ResetTokens::new(b"super-secret-value"));
        assert!(!debug.contains("super-secret"), "{debug}");
    }
}
