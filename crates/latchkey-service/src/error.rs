//! The service layer's error: what went wrong in the terms of the use case. `latchkey-http` maps each
//! variant to a status and envelope in exactly one place.

use latchkey_db::DbError;
use latchkey_domain::DomainError;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input broke a domain rule (a 422).
    #[error(transparent)]
    Validation(#[from] DomainError),
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
