//! The one way this crate signs what it hands out outside a JWT (password-reset links, device tokens) and
//! keys what it counts (the login throttle): HMAC-SHA256 under a key derived from the server secret for
//! one purpose only, so the JWT secret is never used directly twice and no purpose's MAC is valid for
//! another.
//!
//! A signed token is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, no padding.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use uuid::Uuid;

use crate::AuthError;

type HmacSha256 = Hmac<Sha256>;

const MAC_LEN: usize = 32;

/// An HMAC-SHA256 key derived for one purpose: HMAC-SHA256(secret, purpose).
#[derive(Clone)]
pub(crate) struct Signer {
    mac: HmacSha256,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(***)")
    }
}

fn hmac_with_key(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl Signer {
    /// The key for `purpose` (e.g. `b"latchkey password reset v1"`).
    pub(crate) fn new(secret: &[u8], purpose: &[u8]) -> Signer {
        let mut derive = hmac_with_key(secret);
        derive.update(purpose);
        Signer { mac: hmac_with_key(&derive.finalize().into_bytes()) }
    }

    /// The MAC of `data`.
    pub(crate) fn mac(&self, data: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The first 16 bytes of the MAC of `data`, as 32 lower-case hex characters: a keyed name for a value
    /// that must not be stored as it is (an email, a device id).
    pub(crate) fn hex_key(&self, data: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.mac(data);
        let mut out = String::with_capacity(32);
        for byte in &digest[..16] {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// `payload`, signed.
    pub(crate) fn sign(&self, payload: &[u8]) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(self.mac(payload)))
    }

    /// The payload of a token this key signed (the MAC checked in constant time). Tokens longer than
    /// `max_len` are refused before any decoding, so huge inputs cost nothing.
    ///
    /// # Errors
    /// `Invalid` for anything this key did not sign.
    pub(crate) fn open(&self, token: &str, max_len: usize) -> Result<Vec<u8>, AuthError> {
        if token.len() > max_len {
            return Err(AuthError::Invalid);
        }
        let (payload_b64, tag_b64) = token.split_once('.').ok_or(AuthError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| AuthError::Invalid)?;
        let mut tag = [0u8; MAC_LEN];
        match URL_SAFE_NO_PAD.decode_slice(tag_b64, &mut tag) {
            Ok(MAC_LEN) => {}
            _ => return Err(AuthError::Invalid),
        }
        let mut mac = self.mac.clone();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| AuthError::Invalid)?;
        Ok(payload)
    }

    /// A token of `N` ids and an expiry (Unix seconds): `version || id (16 bytes) × N || exp (i64 big-endian)`.
    pub(crate) fn sign_ids<const N: usize>(&self, version: u8, ids: [Uuid; N], exp: i64) -> String {
        let mut payload = Vec::with_capacity(1 + 16 * N + 8);
        payload.push(version);
        for id in ids {
            payload.extend_from_slice(id.as_bytes());
        }
        payload.extend_from_slice(&exp.to_be_bytes());
        self.sign(&payload)
    }

    /// The ids and expiry of a token [`Signer::sign_ids`] made with `version`, if it has not expired at
    /// `now` (Unix seconds).
    ///
    /// # Errors
    /// `Expired` for an authentic token past its expiry; `Invalid` for anything else.
    pub(crate) fn open_ids<const N: usize>(
        &self,
        token: &str,
        max_len: usize,
        version: u8,
        now: i64,
    ) -> Result<([Uuid; N], i64), AuthError> {
        let payload = self.open(token, max_len)?;
        let Some((&found, rest)) = payload.split_first() else { return Err(AuthError::Invalid) };
        if found != version || rest.len() != 16 * N + 8 {
            return Err(AuthError::Invalid);
        }
        let mut ids = [Uuid::nil(); N];
        for (i, id) in ids.iter_mut().enumerate() {
            *id = Uuid::from_slice(&rest[16 * i..16 * (i + 1)]).map_err(|_| AuthError::Invalid)?;
        }
        let exp = i64::from_be_bytes(rest[16 * N..].try_into().map_err(|_| AuthError::Invalid)?);
        if now > exp {
            return Err(AuthError::Expired);
        }
        Ok((ids, exp))
    }
}
