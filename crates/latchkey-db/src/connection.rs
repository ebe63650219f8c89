//! One connection type over PostgreSQL and SQLite (`AnyConnection`, and the `MultiBackend` diesel derives
//! with it), and the name of the backend behind it. Opening one is [`crate::url`]'s; pooling them is
//! [`crate::pool`]'s.

use std::fmt;

use diesel::prelude::*;

/// A connection to either backend. `#[derive(MultiConnection)]` also generates `MultiBackend`.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, the production database.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

impl fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnyConnection::Pg(_) => "AnyConnection::Pg",
            AnyConnection::Sqlite(_) => "AnyConnection::Sqlite",
        })
    }
}

/// The backend a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}
