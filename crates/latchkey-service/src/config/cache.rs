//! The session cache's settings (`SESSION_CACHE`, `SESSION_CACHE_*`).

use latchkey_db::DatabaseUrl;

use super::env;
use super::{ConfigError, Secret};

/// The per-node cache of admitted sessions (`crate::session_cache`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Session cache")]
pub struct SessionCacheSettings {
    /// false turns the session cache off: every authenticated request reads the database.
    #[arg(long = "session-cache", env = "SESSION_CACHE", default_value = "true", action = clap::ArgAction::Set,
          value_parser = env::boolean())]
    pub enabled: bool,
    /// Sessions the cache holds at most, and as many users (1–100000000).
    #[arg(long = "session-cache-entries", env = "SESSION_CACHE_ENTRIES", default_value = "100000",
          value_parser = env::int::<usize>(1..=100_000_000))]
    pub max_entries: usize,
    /// What the cached entries may hold together, in MiB (1–1048576); kept in bytes.
    #[arg(long = "session-cache-mb", env = "SESSION_CACHE_MB", default_value = "256", value_parser = env::mib(1..=1_048_576))]
    pub max_bytes: usize,
    /// A cached answer older than this many seconds is read from the database again (1–3600).
    #[arg(long = "session-cache-max-age-seconds", env = "SESSION_CACHE_MAX_AGE_SECONDS", default_value = "30",
          value_parser = env::int::<u64>(1..=3600))]
    pub max_age_seconds: u64,
    /// Where the PostgreSQL LISTEN connection goes when DATABASE_URL points at a pooler in transaction mode
    /// (a postgres:// URL); unset: DATABASE_URL.
    #[arg(long = "session-cache-listen-url", env = "SESSION_CACHE_LISTEN_URL", hide_env_values = true,
          value_parser = env::rule(listen_url))]
    pub listen_url: Option<Secret>,
}

fn listen_url(_: &str, url: &str) -> Result<Secret, ConfigError> {
    match DatabaseUrl::parse(url) {
        Ok(DatabaseUrl::Postgres(url)) => Ok(Secret::new(url)),
        _ => Err(ConfigError(
            "SESSION_CACHE_LISTEN_URL must be a postgres:// URL (a direct connection, not through a pooler in \
             transaction mode)"
                .into(),
        )),
    }
}
