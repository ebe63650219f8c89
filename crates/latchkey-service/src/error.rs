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
    /// The caller may not do this to themselves or to this target (403 AUTH_007), e.g. an admin deleting
    /// their own account.
    #[error("{0}")]
    OperationForbidden(String),
    /// The current password given for a change is wrong (403 AUTH_001).
    #[error("current password is incorrect")]
    WrongCurrentPassword,
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// The write clashes with existing data (409), e.g. a taken slug.
    #[error("{message}")]
    Conflict {
        /// What it clashes with.
        kind: ConflictKind,
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
    /// Too many password hashes are waiting: the request is shed (503 `SYS_001` with `Retry-After`).
    #[error("server busy: too many password checks waiting")]
    Overloaded {
        /// Seconds after which a retry is likely to be served.
        retry_after_secs: u64,
    },
    /// The database is unreachable (a 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected (a 500); the cause is logged once by the HTTP layer.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a write clashed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// An account with this email exists.
    Email,
    /// The user is an active member of the organization already.
    Membership,
    /// Any other unique identity: an organization's slug, a record no use case words more precisely.
    Other,
}

/// The message of a `NotFound` that no use case worded more precisely.
pub const NOT_FOUND: &str = "Not found";
/// The message of a `Conflict` that no use case worded more precisely.
pub const ALREADY_EXISTS: &str = "A record with this data already exists";

impl ServiceError {
    /// A conflict on no particular field.
    pub fn conflict(message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict { kind: ConflictKind::Other, message: message.into(), field: None }
    }
}

/// A use case that expects a missing row or a constraint violation handles it itself (with a precise
/// message); anything that reaches this conversion still becomes a 404 or a 409, never a 500. The
/// constraint's name stays in the logs' debug output only, not in the client's message.
impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ServiceError::NotFound(NOT_FOUND.to_owned()),
            DbError::Conflict { constraint } => {
                tracing::debug!(constraint = %constraint, "write refused by a constraint");
                ServiceError::conflict(ALREADY_EXISTS)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_errors_map_to_service_errors() {
        assert!(matches!(ServiceError::from(DbError::NotFound), ServiceError::NotFound(m) if m == NOT_FOUND));
        let conflict = ServiceError::from(DbError::Conflict { constraint: "ix_users_email".into() });
        assert!(
            matches!(&conflict, ServiceError::Conflict { kind: ConflictKind::Other, message, field: None } if message == ALREADY_EXISTS),
            "{conflict:?}"
        );
        assert!(!conflict.to_string().contains("ix_users_email"), "constraint names stay internal");
        assert!(matches!(ServiceError::from(DbError::Unavailable("x".into())), ServiceError::Unavailable(_)));
        assert!(matches!(ServiceError::from(DbError::Migration("x".into())), ServiceError::Internal(_)));
    }
}
