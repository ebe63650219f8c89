//! Configuration: read from the environment (and `.env`) once at start-up, validated, then passed around.
//! Every variable is documented in `docs/operations.md` and `.env.example`, and shows in
//! `latchkey serve --help` from the declaration that parses it.
//!
//! The service's settings live here, one file per concern; each is a clap `Args` group whose fields carry
//! their variable, default and range ([`env`] is the typed helper they are declared with). The HTTP
//! server's own settings (host, port, CORS, proxies, logging, metrics, bodies) are parsed in the shell
//! (`latchkey-http`'s `settings`), which hands the service [`Settings`] to [`Settings::into_config`].
//! Whatever may hold a password is a [`Secret`], so the derived `Debug` never prints one.

mod cache;
mod database;
pub mod env;
mod hashing;
mod mail;
mod secrets;
mod sessions;

use std::path::PathBuf;

use latchkey_db::DatabaseUrl;

pub use cache::SessionCacheSettings;
pub use database::{DatabaseLocation, DatabaseSettings};
pub use hashing::HashSettings;
pub use mail::MailSettings;
pub use secrets::{Secret, SecretKey, SecretSource};
pub use sessions::{RetentionSettings, SessionSettings};

/// Rules that are not settings, named once.
pub mod defaults {
    /// Failed logins a known device may still try, in the throttle's window, while its account is throttled.
    pub const DEVICE_MAX_FAILURES: u32 = 5;
    /// The per-account login throttle's window.
    pub const LOGIN_WINDOW_MINUTES: i64 = 15;
    /// `PUBLIC_URL` when neither it nor the server's address is given (the default `HOST` and `PORT`).
    pub const PUBLIC_URL: &str = "http://127.0.0.1:8000";
}

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// The service's settings as declared (and parsed by clap); [`Settings::into_config`] checks what no
/// single value can and resolves the secret key.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Service")]
pub struct Settings {
    /// `production` requires a strong explicit SECRET_KEY and turns on HSTS; reported by /health.
    #[arg(long, env = "ENVIRONMENT", default_value = "development", value_parser = env::rule(|_, v| Ok(v.to_lowercase())))]
    pub environment: String,
    /// Signs tokens; at least 32 characters. Unset outside production: generated once and kept in
    /// <database path>.secret_key (mode 0600).
    #[arg(long, env = "SECRET_KEY", hide_env_values = true, value_parser = env::secret())]
    pub secret_key: Option<Secret>,
    /// Where clients reach this server (the new-device alert's "not me" link); default http://{HOST}:{PORT}.
    #[arg(long, env = "PUBLIC_URL", value_parser = env::rule(mail::public_url))]
    pub public_url: Option<String>,
    /// A MaxMind DB file (.mmdb) sessions are located with; unset: locations stay null.
    #[arg(long, env = "GEOIP_DATABASE", value_parser = env::rule(|_, v| Ok(PathBuf::from(v))))]
    pub geoip_database: Option<PathBuf>,
    /// Reported by /health.
    #[arg(long = "reported-version", env = "VERSION", default_value = env!("CARGO_PKG_VERSION"), value_parser = env::text())]
    pub version: String,
    /// Read and kept; not used yet.
    #[arg(long, env = "PROJECT_NAME", default_value = "Latchkey", value_parser = env::text())]
    pub project_name: String,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub sessions: SessionSettings,
    #[command(flatten)]
    pub hashing: HashSettings,
    #[command(flatten)]
    pub session_cache: SessionCacheSettings,
    #[command(flatten)]
    pub mail: MailSettings,
    #[command(flatten)]
    pub first_superuser: FirstSuperuserSettings,
    #[command(flatten)]
    pub retention: RetentionSettings,
}

/// `FIRST_SUPERUSER_EMAIL` and `FIRST_SUPERUSER_PASSWORD` as given (both or neither).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "First superuser")]
pub struct FirstSuperuserSettings {
    /// Created at start-up when no user has this email (with FIRST_SUPERUSER_PASSWORD).
    #[arg(long, env = "FIRST_SUPERUSER_EMAIL", value_parser = env::text())]
    pub first_superuser_email: Option<String>,
    /// The first superuser's password (the password policy applies).
    #[arg(long, env = "FIRST_SUPERUSER_PASSWORD", hide_env_values = true, value_parser = env::password())]
    pub first_superuser_password: Option<Secret>,
}

/// The first superuser, created at start-up when missing.
#[derive(Debug, Clone)]
pub struct FirstSuperuser {
    pub email: String,
    pub password: Secret,
}

impl FirstSuperuserSettings {
    /// Both or neither.
    fn check(self) -> Result<Option<FirstSuperuser>, ConfigError> {
        match (self.first_superuser_email, self.first_superuser_password) {
            (Some(email), Some(password)) => Ok(Some(FirstSuperuser { email, password })),
            (None, None) => Ok(None),
            (Some(_), None) => {
                Err(ConfigError("FIRST_SUPERUSER_EMAIL is set but FIRST_SUPERUSER_PASSWORD is not".into()))
            }
            (None, Some(_)) => {
                Err(ConfigError("FIRST_SUPERUSER_PASSWORD is set but FIRST_SUPERUSER_EMAIL is not".into()))
            }
        }
    }
}

/// The service's configuration, checked: what `Services`, the commands and the handlers read.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ENVIRONMENT`, lowercased.
    pub environment: String,
    pub secret_key: SecretKey,
    pub secret_source: SecretSource,
    pub database: DatabaseSettings,
    pub sessions: SessionSettings,
    pub hashing: HashSettings,
    pub session_cache: SessionCacheSettings,
    pub mail: MailSettings,
    /// `PUBLIC_URL`, or `http://{HOST}:{PORT}`: where clients reach this server; no trailing slash.
    pub public_url: String,
    pub first_superuser: Option<FirstSuperuser>,
    pub retention: RetentionSettings,
    /// `GEOIP_DATABASE`: the MaxMind DB file sessions are located with; `None`: locations stay empty.
    pub geoip_database: Option<PathBuf>,
    pub version: String,
    pub project_name: String,
}

impl Settings {
    /// Builds the settings from any variable source (name to value), through the same declarations.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        env::from_lookup(lookup)
    }

    /// Checks what no single value can say and resolves the secret key (a missing `SECRET_KEY` outside
    /// production is generated once and kept in a 0600 file next to the SQLite database).
    /// `server_url` is the server's own address, `PUBLIC_URL`'s default.
    pub fn into_config(self, server_url: impl FnOnce() -> String) -> Result<Config, ConfigError> {
        let production = self.environment == "production";
        let (secret_key, secret_source) =
            secrets::signing_key(self.secret_key.as_ref(), production, &self.database.location.url)?;
        self.sessions.check()?;
        let first_superuser = self.first_superuser.check()?;
        let public_url = self.public_url.unwrap_or_else(server_url);
        Ok(Config {
            environment: self.environment,
            secret_key,
            secret_source,
            database: self.database,
            sessions: self.sessions,
            hashing: self.hashing,
            session_cache: self.session_cache,
            mail: self.mail,
            public_url,
            first_superuser,
            retention: self.retention,
            geoip_database: self.geoip_database,
            version: self.version,
            project_name: self.project_name,
        })
    }
}

impl Config {
    /// The configuration from any variable source (name to value) instead of the process environment:
    /// what tests build theirs with. `PUBLIC_URL` defaults to [`defaults::PUBLIC_URL`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Settings::from_lookup(lookup)?.into_config(|| defaults::PUBLIC_URL.to_owned())
    }

    /// `ENVIRONMENT=production`.
    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// The database URL.
    pub fn database(&self) -> DatabaseUrl {
        self.database.location.url.clone()
    }

    /// Whether `serve` applies pending migrations by itself: when `AUTO_MIGRATE` says so, else only for
    /// the embedded SQLite default.
    pub fn migrates_on_start(&self) -> bool {
        self.database.auto_migrate.unwrap_or(matches!(self.database.location.url, DatabaseUrl::Sqlite(_)))
    }
}

#[cfg(test)]
mod tests;
