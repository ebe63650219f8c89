//! The database settings: where it is (`DATABASE_URL`, which the cleanup job reads too), the pool's size,
//! and whether `serve` migrates by itself.

use latchkey_db::DatabaseUrl;

use super::ConfigError;
use super::env;

/// `DATABASE_URL` alone (the cleanup job's database).
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseLocation {
    /// postgres://… / postgresql://… (PostgreSQL), sqlite://path, sqlite:path or a bare path (SQLite).
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = "sqlite://latchkey.db",
          hide_env_values = true, value_parser = env::rule(database_url))]
    pub url: DatabaseUrl,
}

/// The database and its pool.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    #[command(flatten)]
    pub location: DatabaseLocation,
    /// Connections per process (1–1000).
    #[arg(long = "db-pool-size", env = "DB_POOL_SIZE", default_value = "10", value_parser = env::int::<u32>(1..=1000))]
    pub pool_size: u32,
    /// true: `serve` applies pending migrations; false: never; unset: only for SQLite.
    #[arg(long = "auto-migrate", env = "AUTO_MIGRATE", action = clap::ArgAction::Set, value_parser = env::boolean())]
    pub auto_migrate: Option<bool>,
}

fn database_url(name: &str, v: &str) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(v).map_err(|e| ConfigError(format!("{name}: {e}")))
}
