//! The one error type of this crate.

/// Why a token or secret operation failed.
///
/// The variants are deliberately coarse: callers map them to HTTP statuses, and finer detail about *why* a
/// token is invalid would only help an attacker.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is authentic but its expiry (plus leeway) has passed.
    #[error("token expired")]
    Expired,
    /// The token is malformed, forged, signed with another key or algorithm, or lacks a required claim.
    #[error("invalid token")]
    Invalid,
    /// The token is authentic but of the other type (a refresh token where an access token was expected, or
    /// the reverse).
    #[error("wrong token type")]
    WrongType,
    /// Hashing or signing failed for a reason unrelated to the input (RNG failure, crypto backend missing).
    #[error("hashing failed: {0}")]
    Hash(String),
}
