//! Keys for the per-account login throttle: a keyed hash of the normalised email, so failures are counted
//! for every email tried (registered or not) without the throttle table holding anyone's address.

use std::fmt;

use crate::signed::Signer;

/// What the throttle key is derived for, so the JWT secret is never used directly for a second purpose.
const PURPOSE: &[u8] = b"latchkey login throttle v1";

/// Derives throttle keys from the server secret.
#[derive(Clone)]
pub struct ThrottleKeys {
    signer: Signer,
}

impl fmt::Debug for ThrottleKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThrottleKeys(***)")
    }
}

impl ThrottleKeys {
    /// Keys derived as HMAC-SHA256(HMAC-SHA256(secret, purpose), email).
    #[must_use]
    pub fn new(secret: &[u8]) -> ThrottleKeys {
        ThrottleKeys { signer: Signer::new(secret, PURPOSE) }
    }

    /// The throttle key of an (already normalised) email: 32 hex characters.
    #[must_use]
    pub fn account_key(&self, email: &str) -> String {
        self.signer.hex_key(email.as_bytes())
    }

    /// The throttle key of a known device (a device token's id): its own budget, apart from the
    /// account's, 32 hex characters prefixed `d:` so it can never equal an account's key.
    #[must_use]
    pub fn device_key(&self, device_id: &uuid::Uuid) -> String {
        let mut key = String::from("d:");
        key.push_str(&self.signer.hex_key(device_id.as_bytes()));
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_secret_and_differ_across_emails_and_secrets() {
        let a = ThrottleKeys::new(b"secret one that is long enough....");
        let b = ThrottleKeys::new(b"secret two that is long enough....");
        assert_eq!(a.account_key("ada@example.com"), a.account_key("ada@example.com"));
        assert_eq!(a.account_key("ada@example.com").len(), 32);
        assert_ne!(a.account_key("ada@example.com"), a.account_key("bob@example.com"));
        assert_ne!(a.account_key("ada@example.com"), b.account_key("ada@example.com"));
        assert!(!a.account_key("ada@example.com").contains("ada"));
    }
}
