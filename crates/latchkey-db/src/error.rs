//! The database layer's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong talking to the database, in the terms the layers above act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No row matched.
    #[error("record not found")]
    NotFound,
    /// A unique or foreign-key constraint refused the write.
    #[error("constraint violated: {constraint}")]
    Conflict {
        /// The constraint's name when the database reported it, else the kind of violation.
        constraint: String,
    },
    /// The database could not be reached in time (pool timeout, closed connection): a 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A migration failed to apply or revert.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The configuration names a database we cannot use.
    #[error("{0}")]
    Config(String),
    /// Anything else: a 500.
    #[error(transparent)]
    Other(DieselError),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(
                kind @ (DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation),
                info,
            ) => {
                let constraint = info.constraint_name().map(str::to_owned).unwrap_or_else(|| {
                    let kind =
                        if matches!(kind, DatabaseErrorKind::UniqueViolation) { "unique" } else { "foreign_key" };
                    // SQLite names the columns in the message ("UNIQUE constraint failed: users.email").
                    format!("{kind}: {}", info.message())
                });
                DbError::Conflict { constraint }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::BrokenTransactionManager => DbError::Unavailable("broken transaction manager".into()),
            other => DbError::Other(other),
        }
    }
}

impl DbError {
    /// True when the write failed on the named unique constraint or column (SQLite reports columns).
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, DbError::Conflict { constraint } if constraint.contains(name))
    }
}
