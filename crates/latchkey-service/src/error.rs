//! The service layer's error: what went wrong in the terms of the use case. `latchkey-http` maps each
//! variant to a status and envelope in exactly one place.

use latchkey_db::DbError;
use latchkey_domain::DomainError;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input broke domain rules (a 422); one entry per broken rule.
    #[error("invalid input: {}", .0.iter().map(|e| e.message()).collect::<Vec<_>>().join("; "))]
    Validation(Vec<DomainError>),
    /// Wrong email or password, or a user who may not log in (401 AUTH_001).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The right password for a deactivated account (401 AUTH_001).
    #[error("user account is inactive")]
    InactiveAccount,
    /// A missing, invalid, expired or revoked token or session (401 AUTH_006); the message is for the client.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this (403 AUTH_004).
    #[error("{0}")]
    Forbidden(String),
    /// The current password given for a change is wrong (403 AUTH_001).
    #[error("current password is incorrect")]
    WrongCurrentPassword,
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// The write clashes with existing data (409), e.g. a taken slug.
    #[error("{message}")]
    Conflict {
        /// The envelope's code (`SYS_005`, `USER_002`).
        code: &'static str,
        message: String,
        /// The input field at fault, if one is.
        field: Option<&'static str>,
    },
    /// A request that cannot be honoured as made (400 VAL_006).
    #[error("{0}")]
    BadRequest(&'static str),
    /// Too many failed logins for this account (429).
    #[error("too many failed login attempts")]
    LoginThrottled {
        /// Seconds until the account's window lets a login through again.
        retry_after_secs: u64,
    },
    /// The database is unreachable (a 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected (a 500); the cause is logged once by the HTTP layer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(msg) => ServiceError::Unavailable(msg),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        ServiceError::Validation(vec![e])
    }
}

impl From<latchkey_auth::AuthError> for ServiceError {
    fn from(e: latchkey_auth::AuthError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}
