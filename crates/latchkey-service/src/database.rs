//! Opening the configured database and bringing its schema up to date: what the binaries do before they
//! build [`Services`](crate::Services). The pool type stays opaque to them: they pass it on.

use latchkey_db::{Db, PoolOptions};

use crate::config::Config;
use crate::error::ServiceError;

/// Builds the pool the configuration names (no connection is opened yet, so a server can start while its
/// database is down and report it on `/health`).
pub fn open(config: &Config) -> Result<Db, ServiceError> {
    Db::new(&config.database(), PoolOptions { max_size: config.database.pool_size, ..PoolOptions::default() })
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Applies the pending migrations; returns their names.
pub fn migrate(db: &Db) -> Result<Vec<String>, ServiceError> {
    db.migrate().map_err(|e| ServiceError::Internal(format!("applying migrations: {e}")))
}

/// Makes the schema ready for serving: migrates when the configuration allows it at start-up (returning
/// what was applied), otherwise refuses a database with pending migrations, naming them and the command
/// that applies them.
pub fn prepare_schema(config: &Config, db: &Db) -> Result<Vec<String>, ServiceError> {
    if config.migrates_on_start() {
        return migrate(db);
    }
    let pending =
        db.pending_migrations().map_err(|e| ServiceError::Internal(format!("checking for pending migrations: {e}")))?;
    if !pending.is_empty() {
        return Err(ServiceError::Internal(format!(
            "the database has {} pending migration(s) ({}); run `latchkey migrate` (or `cargo xtask migrate`), \
             or set AUTO_MIGRATE=true",
            pending.len(),
            pending.join(", ")
        )));
    }
    Ok(Vec::new())
}
