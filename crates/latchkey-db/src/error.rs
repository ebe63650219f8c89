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
            // The connection broke under the query (`ClosedConnection`), or was already broken when the
            // next statement was sent (`UnableToSendCommand`, libpq's "no connection to the server": a
            // transaction's ROLLBACK after its query found the database gone).
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DbError::Unavailable(info.message().to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_unavailable_not_a_server_error() {
        for kind in [DatabaseErrorKind::ClosedConnection, DatabaseErrorKind::UnableToSendCommand] {
            let e = DieselError::DatabaseError(kind, Box::new("no connection to the server".to_owned()));
            assert!(matches!(DbError::from(e), DbError::Unavailable(m) if m == "no connection to the server"));
        }
        let e = DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new("syntax error".to_owned()));
        assert!(matches!(DbError::from(e), DbError::Other(_)));
    }
}
