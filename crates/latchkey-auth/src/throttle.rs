//! Keys for the per-account login throttle: a keyed hash of the normalised email, so failures are counted
//! for every email tried (registered or not) without the throttle table holding anyone's address.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the throttle key is derived for, so the JWT secret is never used directly for a second purpose.
const PURPOSE: &[u8] = b"latchkey login throttle v1";

/// Derives throttle keys from the server secret.
#[derive(Clone)]
pub struct ThrottleKeys {
    mac: HmacSha256,
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
        let mut derive = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        derive.update(PURPOSE);
        let key = derive.finalize().into_bytes();
        ThrottleKeys { mac: <HmacSha256 as Mac>::new_from_slice(&key).expect("HMAC accepts keys of any length") }
    }

    /// The throttle key of an (already normalised) email: 32 hex characters.
    #[must_use]
    pub fn account_key(&self, email: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.mac.clone();
        mac.update(email.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(32);
        for byte in &digest[..16] {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
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
