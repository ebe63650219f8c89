//! latchkey-auth: tokens and secrets — HS256 access and refresh JWTs, argon2id password hashing (with
//! bcrypt hashes from the reference still accepted), password-reset tokens, device tokens and the login throttle's keys. It is pure computation:
//! the current time is always an argument, nothing here reads the clock, touches a database or does I/O.
//! It must never depend on diesel, actix or tokio; hashing is CPU-bound, so callers run it on a thread of
//! their own (the service's hashing pool), each with a reused [`HashMemory`].

mod alert;
mod device;
mod error;
mod jwt;
mod password;
mod reset;
mod signed;
mod throttle;

pub use alert::{ALERT_TOKEN_TTL, AlertClaims, AlertTokens};
pub use device::{DeviceClaims, DeviceTokens};
pub use error::AuthError;
pub use jwt::{AccessClaims, LEEWAY_SECS, RefreshClaims, TokenKeys, TokenType};
pub use password::{HashMemory, PasswordHasher, Verification};
pub use reset::{RESET_TOKEN_TTL, RESET_TOKEN_TTL_SECS, ResetClaims, ResetTokens, password_fingerprint};
pub use throttle::ThrottleKeys;
