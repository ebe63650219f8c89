//! Session and login settings (token lifetimes, reuse grace, limits, known devices), and how long the
//! cleanup job keeps what ended.

use super::ConfigError;
use super::env;

/// Tokens, sessions and the login throttle.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Tokens and sessions")]
pub struct SessionSettings {
    /// Access-token lifetime in minutes (1–1440).
    #[arg(long, env = "ACCESS_TOKEN_EXPIRE_MINUTES", default_value = "15", value_parser = env::int::<i64>(1..=1440))]
    pub access_token_expire_minutes: i64,
    /// Each refresh slides the session's expiry by this many days (1–365)…
    #[arg(long, env = "REFRESH_TOKEN_EXPIRE_DAYS", default_value = "7", value_parser = env::int::<i64>(1..=365))]
    pub refresh_token_expire_days: i64,
    /// …but never past login + this many days (1–3650, at least REFRESH_TOKEN_EXPIRE_DAYS).
    #[arg(long, env = "SESSION_MAX_LIFETIME_DAYS", default_value = "30", value_parser = env::int::<i64>(1..=3650))]
    pub session_max_lifetime_days: i64,
    /// A refresh token rotated out less than this many seconds ago gets 401 without revoking its session
    /// (0–300).
    #[arg(long, env = "REFRESH_REUSE_GRACE_SECONDS", default_value = "10", value_parser = env::int::<i64>(0..=300))]
    pub refresh_reuse_grace_seconds: i64,
    /// Sessions per user, 0 = unlimited (0–10000); a login beyond it revokes the least recently used.
    #[arg(long, env = "MAX_SESSIONS_PER_USER", default_value = "0", value_parser = env::int::<u32>(0..=10_000))]
    pub max_sessions_per_user: u32,
    /// Password checks per email in a 15-minute window before its logins get 429 (1–100000).
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value = "20", value_parser = env::int::<u32>(1..=100_000))]
    pub login_max_failures: u32,
    /// How long a device stays known, in days: a device token's life (1–3650).
    #[arg(long, env = "KNOWN_DEVICE_DAYS", default_value = "90", value_parser = env::int::<i64>(1..=3650))]
    pub known_device_days: i64,
}

impl SessionSettings {
    /// What one value alone cannot say: a session outlives its refresh tokens.
    pub fn check(&self) -> Result<(), ConfigError> {
        let (max, refresh) = (self.session_max_lifetime_days, self.refresh_token_expire_days);
        if max < refresh {
            return Err(ConfigError(format!(
                "SESSION_MAX_LIFETIME_DAYS ({max}) must be at least REFRESH_TOKEN_EXPIRE_DAYS ({refresh})"
            )));
        }
        Ok(())
    }
}

/// What the cleanup job keeps (the server validates these too).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Cleanup (latchkey-cleanup)")]
pub struct RetentionSettings {
    /// Delete sessions that ended (expired or revoked) more than this many days ago (0–3650).
    #[arg(long = "retention-days", env = "SESSION_RETENTION_DAYS", default_value = "30",
          value_parser = env::int::<i64>(0..=3650))]
    pub session_retention_days: i64,
    /// Delete security events older than this many days (0–3650).
    #[arg(long = "event-retention-days", env = "EVENT_RETENTION_DAYS", default_value = "90",
          value_parser = env::int::<i64>(0..=3650))]
    pub event_retention_days: i64,
}
