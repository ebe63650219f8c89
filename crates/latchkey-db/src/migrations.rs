//! The embedded migration trees, one per backend, with identical folder names.

use diesel::migration::MigrationSource;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::pool::Db;

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

fn other(e: impl std::fmt::Display) -> DbError {
    DbError::Migration(e.to_string())
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        AnyConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map_err(other)?,
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map_err(other)?,
    };
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// The versions not yet applied.
pub fn pending(conn: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    Ok(match conn {
        AnyConnection::Pg(c) => {
            c.pending_migrations(POSTGRES).map_err(other)?.iter().map(|m| m.name().version().to_string()).collect()
        }
        AnyConnection::Sqlite(c) => {
            c.pending_migrations(SQLITE).map_err(other)?.iter().map(|m| m.name().version().to_string()).collect()
        }
    })
}

/// Reverts the most recent migration; returns its version.
pub fn revert_last(conn: &mut AnyConnection) -> Result<String, DbError> {
    let version = match conn {
        AnyConnection::Pg(c) => c.revert_last_migration(POSTGRES).map_err(other)?,
        AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE).map_err(other)?,
    };
    Ok(version.to_string())
}

/// Reverts every applied migration.
pub fn revert_all(conn: &mut AnyConnection) -> Result<(), DbError> {
    match conn {
        AnyConnection::Pg(c) => c.revert_all_migrations(POSTGRES).map(|_| ()).map_err(other),
        AnyConnection::Sqlite(c) => c.revert_all_migrations(SQLITE).map(|_| ()).map_err(other),
    }
}

/// The names of the embedded migrations of each tree, for the mirror check.
pub fn embedded_names() -> Result<(Vec<String>, Vec<String>), DbError> {
    let names = |source: &EmbeddedMigrations| -> Result<Vec<String>, DbError> {
        let migrations = MigrationSource::<diesel::pg::Pg>::migrations(source).map_err(other)?;
        Ok(migrations.iter().map(|m| m.name().to_string()).collect())
    };
    let sqlite = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
        .map_err(other)?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    Ok((names(&POSTGRES)?, sqlite))
}

impl Db {
    /// Applies pending migrations on a pooled connection.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn()?;
        run_pending(&mut conn)
    }

    /// The migrations not yet applied.
    pub fn pending_migrations(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn()?;
        pending(&mut conn)
    }
}
