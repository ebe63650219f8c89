//! Configuration: read from the environment (and `.env`) once at start-up, validated, then passed around.
//! Every variable is documented in `docs/operations.md` and `.env.example`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use latchkey_db::DatabaseUrl;

/// Defaults, named once.
pub mod defaults {
    pub const DATABASE_URL: &str = "sqlite://latchkey.db";
    pub const HOST: &str = "127.0.0.1";
    pub const PORT: u16 = 8000;
    pub const ENVIRONMENT: &str = "development";
    pub const ACCESS_TOKEN_EXPIRE_MINUTES: i64 = 15;
    pub const REFRESH_TOKEN_EXPIRE_DAYS: i64 = 7;
    pub const SESSION_MAX_LIFETIME_DAYS: i64 = 30;
    pub const DB_POOL_SIZE: u32 = 10;
    pub const RATE_LIMIT_SCALE: f64 = 1.0;
    pub const CORS_ORIGIN: &str = "http://localhost:3000";
    pub const FRONTEND_URL: &str = "http://localhost:3000";
    pub const RESET_PASSWORD_PATH: &str = "/reset-password";
    pub const SESSION_RETENTION_DAYS: i64 = 30;
    pub const EVENT_RETENTION_DAYS: i64 = 90;
    pub const REFRESH_REUSE_GRACE_SECONDS: i64 = 10;
    pub const MAX_SESSIONS_PER_USER: u32 = 0;
    pub const LOGIN_MAX_FAILURES: u32 = 20;
    /// How long a device counts as known: a device token's life, and (with alerts) how far back a login
    /// from the same device or country makes a new one not new.
    pub const KNOWN_DEVICE_DAYS: i64 = 90;
    /// Failed logins a known device may still try, in the throttle's window, while its account is throttled.
    pub const DEVICE_MAX_FAILURES: u32 = 5;
    /// The per-account login throttle's window.
    pub const LOGIN_WINDOW_MINUTES: i64 = 15;
    pub const PROJECT_NAME: &str = "Latchkey";
    pub const SMTP_FROM: &str = "Latchkey <no-reply@localhost>";
    pub const MIN_SECRET_KEY_LEN: usize = 32;
    /// Requests allowed to wait for a password check before more are shed at once.
    pub const HASH_QUEUE_LIMIT: usize = 256;
    pub const HASH_MAX_WAIT_MS: u64 = 1000;
    pub const HASH_NICE: i64 = 10;
    pub const RESET_MAIL_QUEUE: usize = 100;
    /// How long a request body may take to arrive, counted from the request's arrival.
    pub const BODY_READ_TIMEOUT_SECONDS: u64 = 15;
    /// What the request bodies being read and parsed may hold together, in MiB.
    pub const BODY_MEMORY_BUDGET_MB: usize = 32;
    /// Sessions (and, as many, users) the session cache holds at most.
    pub const SESSION_CACHE_ENTRIES: usize = 100_000;
    /// What the session cache may hold in all, in MiB.
    pub const SESSION_CACHE_MB: usize = 256;
    /// How long a cached answer may be served before it is read from the database again.
    pub const SESSION_CACHE_MAX_AGE_SECONDS: u64 = 30;
}

/// Secret keys that are public knowledge: the reference's shipped default and template placeholders.
const KNOWN_PLACEHOLDER_KEYS: &[&str] = &[
    "dev_only_insecure_key_change_in_production_32chars_min",
    "your_secret_key_here",
    "changeme",
    "change_me",
    "change-me",
    "secret",
    "insecure",
];

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// The signing secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a key as given (validated by `Config`).
    pub fn new(key: impl Into<String>) -> SecretKey {
        SecretKey(key.into())
    }

    /// The key's bytes, for building signing keys.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Where the secret key came from, so start-up can warn about a generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `SECRET_KEY` was set.
    Environment,
    /// Generated earlier and read back from this file.
    File(PathBuf),
    /// Generated now and saved to this file.
    Generated(PathBuf),
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Which requests get an access-log line (`ACCESS_LOG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccessLog {
    /// None (server errors are still logged with their cause where they happen).
    Off,
    /// Every request.
    All,
    /// This fraction of requests (0 < p < 1), chosen at random, plus every 5xx.
    Sample(f64),
}

impl AccessLog {
    fn parse(v: &str) -> Result<AccessLog, ConfigError> {
        match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "all" => return Ok(AccessLog::All),
            "off" | "false" | "none" => return Ok(AccessLog::Off),
            _ => {}
        }
        match v.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(if p == 0.0 {
                AccessLog::Off
            } else if p == 1.0 {
                AccessLog::All
            } else {
                AccessLog::Sample(p)
            }),
            _ => Err(ConfigError(format!(
                "ACCESS_LOG must be 'on', 'off' or a sampling fraction from 0 to 1 (e.g. 0.01), got '{v}'"
            ))),
        }
    }
}

/// The first superuser, created at start-up when missing.
#[derive(Clone)]
pub struct FirstSuperuser {
    pub email: String,
    pub password: String,
}

impl fmt::Debug for FirstSuperuser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstSuperuser").field("email", &self.email).finish_non_exhaustive()
    }
}

/// The whole configuration.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub host: String,
    pub port: u16,
    pub secret_key: SecretKey,
    pub secret_source: SecretSource,
    pub environment: String,
    pub project_name: String,
    pub version: String,
    pub access_token_expire_minutes: i64,
    pub refresh_token_expire_days: i64,
    pub session_max_lifetime_days: i64,
    pub refresh_reuse_grace_seconds: i64,
    pub max_sessions_per_user: u32,
    pub login_max_failures: u32,
    /// `KNOWN_DEVICE_DAYS`: a device token's life (and the window of known devices).
    pub known_device_days: i64,
    /// `NEW_DEVICE_ALERTS`: email the user about a login from a new device or country.
    pub new_device_alerts: bool,
    /// `PUBLIC_URL`: where clients reach this server (the "not me" link of an alert); no trailing slash.
    pub public_url: String,
    pub db_pool_size: u32,
    /// HTTP worker threads (`WORKERS`); `None`: one per CPU, actix's default.
    pub workers: Option<usize>,
    /// `AUTO_MIGRATE`: `None` when unset (then only the embedded SQLite default migrates by itself).
    pub auto_migrate: Option<bool>,
    pub rate_limit_scale: f64,
    pub trusted_proxies: Vec<IpNet>,
    pub cors_origins: Vec<String>,
    pub frontend_url: String,
    /// `RESET_PASSWORD_PATH`: the frontend page the reset link opens, `{FRONTEND_URL}{path}?token=...`.
    pub reset_password_path: String,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub first_superuser: Option<FirstSuperuser>,
    pub log_format: LogFormat,
    /// Which requests get an access-log line.
    pub access_log: AccessLog,
    /// `METRICS=false` turns the metrics off: no `/metrics`, no per-request recording.
    pub metrics_enabled: bool,
    /// Where `/metrics` is served on its own listener; `None` serves it on the main port.
    pub metrics_addr: Option<SocketAddr>,
    pub session_retention_days: i64,
    pub event_retention_days: i64,
    /// `HASH_WORKERS`: password-hashing threads (default: one per core).
    pub hash_workers: usize,
    /// `HASH_QUEUE_LIMIT`: requests allowed to wait for a password check; more are shed with 503 at once.
    pub hash_queue_limit: usize,
    /// `HASH_MAX_WAIT_MS`: a request that waited this long for a password check is shed with 503.
    pub hash_max_wait_ms: u64,
    /// `HASH_NICE`: niceness of the hashing threads (0–19, Linux), so request handling wins the CPU.
    pub hash_nice: i32,
    /// `RESET_MAIL_QUEUE`: reset emails waiting to be sent; more are dropped (and logged).
    pub reset_mail_queue: usize,
    /// `BODY_READ_TIMEOUT_SECONDS`: a request body not complete this long after the request arrived is 408.
    pub body_read_timeout_seconds: u64,
    /// `BODY_MEMORY_BUDGET_MB`, in bytes: what request bodies in flight may hold together.
    pub body_memory_budget_bytes: usize,
    /// `GEOIP_DATABASE`: the MaxMind DB file sessions are located with; `None`: locations stay empty.
    pub geoip_database: Option<PathBuf>,
    /// The session cache (`SESSION_CACHE`, `SESSION_CACHE_*`): see [`SessionCacheSettings`].
    pub session_cache: SessionCacheSettings,
}

/// The per-node cache of admitted sessions (`crate::session_cache`).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCacheSettings {
    /// `SESSION_CACHE`: on unless `false`.
    pub enabled: bool,
    /// `SESSION_CACHE_ENTRIES`: sessions held at most (users likewise).
    pub max_entries: usize,
    /// `SESSION_CACHE_MB`, in bytes: what the entries may hold together.
    pub max_bytes: usize,
    /// `SESSION_CACHE_MAX_AGE_SECONDS`: a cached answer older than this is read again.
    pub max_age_seconds: u64,
    /// `SESSION_CACHE_LISTEN_URL`: where the PostgreSQL `LISTEN` connection goes, when `DATABASE_URL`
    /// points at a pooler in transaction mode; `None`: `DATABASE_URL`.
    pub listen_url: Option<String>,
}

/// Leaves out the listen URL (it may hold a password).
impl fmt::Debug for SessionCacheSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCacheSettings")
            .field("enabled", &self.enabled)
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .field("max_age_seconds", &self.max_age_seconds)
            .field("listen_url", &self.listen_url.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// Leaves out what may hold a password: the database URL (a PostgreSQL URL prints as
/// `Postgres(..)`), the SMTP URL, the secret key and the first superuser's password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &DatabaseUrl::parse(&self.database_url).ok())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("secret_key", &self.secret_key)
            .field("secret_source", &self.secret_source)
            .field("environment", &self.environment)
            .field("access_token_expire_minutes", &self.access_token_expire_minutes)
            .field("refresh_token_expire_days", &self.refresh_token_expire_days)
            .field("session_max_lifetime_days", &self.session_max_lifetime_days)
            .field("refresh_reuse_grace_seconds", &self.refresh_reuse_grace_seconds)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("login_max_failures", &self.login_max_failures)
            .field("known_device_days", &self.known_device_days)
            .field("new_device_alerts", &self.new_device_alerts)
            .field("public_url", &self.public_url)
            .field("db_pool_size", &self.db_pool_size)
            .field("workers", &self.workers)
            .field("auto_migrate", &self.auto_migrate)
            .field("rate_limit_scale", &self.rate_limit_scale)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field("frontend_url", &self.frontend_url)
            .field("reset_password_path", &self.reset_password_path)
            .field("smtp", &self.smtp_url.as_ref().map(|_| "(set)"))
            .field("first_superuser", &self.first_superuser)
            .field("log_format", &self.log_format)
            .field("hash_workers", &self.hash_workers)
            .field("hash_queue_limit", &self.hash_queue_limit)
            .field("hash_max_wait_ms", &self.hash_max_wait_ms)
            .field("hash_nice", &self.hash_nice)
            .field("reset_mail_queue", &self.reset_mail_queue)
            .field("body_read_timeout_seconds", &self.body_read_timeout_seconds)
            .field("body_memory_budget_bytes", &self.body_memory_budget_bytes)
            .field("geoip_database", &self.geoip_database)
            .field("session_cache", &self.session_cache)
            .field("access_log", &self.access_log)
            .field("metrics_enabled", &self.metrics_enabled)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads `.env` (if present) and the environment, then validates. A missing `SECRET_KEY` outside
    /// production is generated once and kept in a 0600 file next to the SQLite database.
    pub fn from_env() -> Result<Config, ConfigError> {
        // A missing .env is normal; a malformed one is an error worth reporting.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError(format!(".env could not be read: {e}"))),
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let database_url = get("DATABASE_URL").unwrap_or_else(|| defaults::DATABASE_URL.to_owned());
        let parsed_url = DatabaseUrl::parse(&database_url).map_err(|e| ConfigError(format!("DATABASE_URL: {e}")))?;
        let environment = get("ENVIRONMENT").unwrap_or_else(|| defaults::ENVIRONMENT.to_owned()).to_lowercase();
        let production = environment == "production";

        let (secret_key, secret_source) = match get("SECRET_KEY") {
            Some(key) => {
                check_secret_key(&key, production)?;
                (SecretKey(key), SecretSource::Environment)
            }
            None if production => {
                return Err(ConfigError(
                    "SECRET_KEY must be set to a strong random value (at least 32 characters) when \
                     ENVIRONMENT=production; generate one with `openssl rand -hex 32`"
                        .into(),
                ));
            }
            None => load_or_generate_secret(&secret_file_for(&parsed_url))?,
        };

        let access_token_expire_minutes =
            int(&get, "ACCESS_TOKEN_EXPIRE_MINUTES", defaults::ACCESS_TOKEN_EXPIRE_MINUTES, 1..=1440)?;
        let refresh_token_expire_days =
            int(&get, "REFRESH_TOKEN_EXPIRE_DAYS", defaults::REFRESH_TOKEN_EXPIRE_DAYS, 1..=365)?;
        let session_max_lifetime_days =
            int(&get, "SESSION_MAX_LIFETIME_DAYS", defaults::SESSION_MAX_LIFETIME_DAYS, 1..=3650)?;
        if session_max_lifetime_days < refresh_token_expire_days {
            return Err(ConfigError(format!(
                "SESSION_MAX_LIFETIME_DAYS ({session_max_lifetime_days}) must be at least REFRESH_TOKEN_EXPIRE_DAYS ({refresh_token_expire_days})"
            )));
        }

        let rate_limit_scale = match get("RATE_LIMIT_SCALE") {
            None => defaults::RATE_LIMIT_SCALE,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => x,
                _ => {
                    return Err(ConfigError(format!(
                        "RATE_LIMIT_SCALE must be a number >= 0 (0 disables rate limits), got '{v}'"
                    )));
                }
            },
        };

        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => {
                list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse_net).collect::<Result<_, _>>()?
            }
        };

        let cors_origins = match get("BACKEND_CORS_ORIGINS") {
            None => vec![defaults::CORS_ORIGIN.to_owned()],
            Some(v) => parse_origins(&v)?,
        };

        let first_superuser =
            match (get("FIRST_SUPERUSER_EMAIL"), var("FIRST_SUPERUSER_PASSWORD").filter(|p| !p.is_empty())) {
                (Some(email), Some(password)) => Some(FirstSuperuser { email, password }),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(ConfigError("FIRST_SUPERUSER_EMAIL is set but FIRST_SUPERUSER_PASSWORD is not".into()));
                }
                (None, Some(_)) => {
                    return Err(ConfigError("FIRST_SUPERUSER_PASSWORD is set but FIRST_SUPERUSER_EMAIL is not".into()));
                }
            };

        let log_format = match get("LOG_FORMAT").as_deref().map(str::to_lowercase).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(ConfigError(format!("LOG_FORMAT must be 'text' or 'json', got '{other}'"))),
        };

        // Every core may hash: the threads run at `HASH_NICE`, so request handling still wins the CPU, and the
        // auth check no longer waits for PostgreSQL (the session cache), which the hashing would slow down
        // (docs/performance.md, "Logins at the argon2 limit").
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let hash_workers = int(&get, "HASH_WORKERS", cores.clamp(1, 256) as i64, 1..=256)? as usize;
        let hash_queue_limit = int(&get, "HASH_QUEUE_LIMIT", defaults::HASH_QUEUE_LIMIT as i64, 1..=100_000)? as usize;
        let hash_max_wait_ms = int(&get, "HASH_MAX_WAIT_MS", defaults::HASH_MAX_WAIT_MS as i64, 1..=60_000)? as u64;
        let hash_nice = int(&get, "HASH_NICE", defaults::HASH_NICE, 0..=19)? as i32;
        let reset_mail_queue = int(&get, "RESET_MAIL_QUEUE", defaults::RESET_MAIL_QUEUE as i64, 1..=100_000)? as usize;
        let access_log = get("ACCESS_LOG").map(|v| AccessLog::parse(&v)).transpose()?.unwrap_or(AccessLog::All);
        let metrics_addr = get("METRICS_ADDR")
            .map(|v| {
                v.parse::<SocketAddr>().map_err(|_| {
                    ConfigError(format!(
                        "METRICS_ADDR must be an address and port such as 127.0.0.1:9100 or [::1]:9100, got '{v}'"
                    ))
                })
            })
            .transpose()?;
        let metrics_enabled = get("METRICS").map(|v| parse_bool("METRICS", &v)).transpose()?.unwrap_or(true);
        if !metrics_enabled && metrics_addr.is_some() {
            return Err(ConfigError("METRICS_ADDR is set but METRICS=false turns the metrics off".into()));
        }

        let host = get("HOST").unwrap_or_else(|| defaults::HOST.to_owned());
        let port = int(&get, "PORT", i64::from(defaults::PORT), 0..=65535)? as u16;
        let public_url = match get("PUBLIC_URL") {
            Some(url) => public_url(url.trim())?,
            None => format!("http://{host}:{port}"),
        };
        let new_device_alerts =
            get("NEW_DEVICE_ALERTS").map(|v| parse_bool("NEW_DEVICE_ALERTS", &v)).transpose()?.unwrap_or(true);

        Ok(Config {
            database_url,
            host,
            port,
            new_device_alerts,
            public_url,
            secret_key,
            secret_source,
            environment,
            project_name: get("PROJECT_NAME").unwrap_or_else(|| defaults::PROJECT_NAME.to_owned()),
            version: get("VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            access_token_expire_minutes,
            refresh_token_expire_days,
            session_max_lifetime_days,
            refresh_reuse_grace_seconds: int(
                &get,
                "REFRESH_REUSE_GRACE_SECONDS",
                defaults::REFRESH_REUSE_GRACE_SECONDS,
                0..=300,
            )?,
            max_sessions_per_user: int(
                &get,
                "MAX_SESSIONS_PER_USER",
                i64::from(defaults::MAX_SESSIONS_PER_USER),
                0..=10_000,
            )? as u32,
            login_max_failures: int(&get, "LOGIN_MAX_FAILURES", i64::from(defaults::LOGIN_MAX_FAILURES), 1..=100_000)?
                as u32,
            known_device_days: int(&get, "KNOWN_DEVICE_DAYS", defaults::KNOWN_DEVICE_DAYS, 1..=3650)?,
            db_pool_size: int(&get, "DB_POOL_SIZE", i64::from(defaults::DB_POOL_SIZE), 1..=1000)? as u32,
            workers: match get("WORKERS") {
                None => None,
                Some(_) => Some(int(&get, "WORKERS", 1, 1..=1024)? as usize),
            },
            auto_migrate: get("AUTO_MIGRATE").map(|v| parse_bool("AUTO_MIGRATE", &v)).transpose()?,
            rate_limit_scale,
            trusted_proxies,
            cors_origins,
            frontend_url: get("FRONTEND_URL")
                .unwrap_or_else(|| defaults::FRONTEND_URL.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            reset_password_path: reset_password_path(get("RESET_PASSWORD_PATH"))?,
            smtp_url: get("SMTP_URL"),
            smtp_from: get("SMTP_FROM").unwrap_or_else(|| defaults::SMTP_FROM.to_owned()),
            first_superuser,
            log_format,
            access_log,
            metrics_enabled,
            metrics_addr,
            session_retention_days: int(&get, "SESSION_RETENTION_DAYS", defaults::SESSION_RETENTION_DAYS, 0..=3650)?,
            event_retention_days: int(&get, "EVENT_RETENTION_DAYS", defaults::EVENT_RETENTION_DAYS, 0..=3650)?,
            hash_workers,
            hash_queue_limit,
            hash_max_wait_ms,
            hash_nice,
            reset_mail_queue,
            body_read_timeout_seconds: int(
                &get,
                "BODY_READ_TIMEOUT_SECONDS",
                defaults::BODY_READ_TIMEOUT_SECONDS as i64,
                1..=300,
            )? as u64,
            // At least 16 MiB: the largest body (10 MiB) must fit in the part for large bodies.
            body_memory_budget_bytes: int(
                &get,
                "BODY_MEMORY_BUDGET_MB",
                defaults::BODY_MEMORY_BUDGET_MB as i64,
                16..=65_536,
            )? as usize
                * 1024
                * 1024,
            geoip_database: get("GEOIP_DATABASE").map(PathBuf::from),
            session_cache: SessionCacheSettings {
                enabled: get("SESSION_CACHE").map(|v| parse_bool("SESSION_CACHE", &v)).transpose()?.unwrap_or(true),
                max_entries: int(
                    &get,
                    "SESSION_CACHE_ENTRIES",
                    defaults::SESSION_CACHE_ENTRIES as i64,
                    1..=100_000_000,
                )? as usize,
                max_bytes: int(&get, "SESSION_CACHE_MB", defaults::SESSION_CACHE_MB as i64, 1..=1_048_576)? as usize
                    * 1024
                    * 1024,
                max_age_seconds: int(
                    &get,
                    "SESSION_CACHE_MAX_AGE_SECONDS",
                    defaults::SESSION_CACHE_MAX_AGE_SECONDS as i64,
                    1..=3600,
                )? as u64,
                listen_url: match get("SESSION_CACHE_LISTEN_URL") {
                    None => None,
                    Some(url) => match DatabaseUrl::parse(&url) {
                        Ok(DatabaseUrl::Postgres(url)) => Some(url),
                        _ => {
                            return Err(ConfigError(
                                "SESSION_CACHE_LISTEN_URL must be a postgres:// URL (a direct connection, not \
                                 through a pooler in transaction mode)"
                                    .into(),
                            ));
                        }
                    },
                },
            },
        })
    }

    /// `ENVIRONMENT=production`.
    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// The parsed database URL (validated in `from_lookup`).
    pub fn database(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.database_url).expect("validated when the configuration was read")
    }

    /// Whether `serve` applies pending migrations by itself: when `AUTO_MIGRATE` says so, else only for
    /// the embedded SQLite default.
    pub fn migrates_on_start(&self) -> bool {
        self.auto_migrate.unwrap_or_else(|| matches!(self.database(), DatabaseUrl::Sqlite(_)))
    }
}

/// `RESET_PASSWORD_PATH`: a path on the frontend (`/` first; no query, fragment, space or control
/// character, since the token's `?token=` follows it).
fn reset_password_path(value: Option<String>) -> Result<String, ConfigError> {
    let Some(path) = value.map(|v| v.trim().to_owned()) else {
        return Ok(defaults::RESET_PASSWORD_PATH.to_owned());
    };
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.contains(['?', '#'])
        || path.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError(format!(
            "RESET_PASSWORD_PATH must be a path starting with one '/', without '?', '#' or spaces (got '{path}'), \
             e.g. /reset-password or /en/password-reset/confirm"
        )));
    }
    Ok(path)
}

fn int(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let Some(raw) = get(name) else { return Ok(default) };
    match raw.parse::<i64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(ConfigError(format!(
            "{name} must be a whole number from {} to {}, got '{raw}'",
            range.start(),
            range.end()
        ))),
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError(format!("{name} must be true or false, got '{v}'"))),
    }
}

fn parse_net(s: &str) -> Result<IpNet, ConfigError> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError(format!("TRUSTED_PROXIES: '{s}' is not an IP address or CIDR range")))
}

/// Accepts the reference's JSON list (`["http://a","http://b"]`) or a comma-separated list.
fn parse_origins(v: &str) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = if v.starts_with('[') {
        serde_json::from_str(v)
            .map_err(|e| ConfigError(format!("BACKEND_CORS_ORIGINS is not a JSON list of strings: {e}")))?
    } else {
        v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    origins.into_iter().map(|o| check_origin(o.trim_end_matches('/'))).collect()
}

/// An origin as a browser sends it: `http` or `https`, a host, an optional port, nothing else. A wildcard
/// is refused by name: the CORS middleware allows credentials, a credentialed CORS answer can never be
/// `*`, and the middleware would otherwise refuse to start with an obscure message.
fn check_origin(origin: &str) -> Result<String, ConfigError> {
    if origin.contains('*') {
        return Err(ConfigError(format!(
            "BACKEND_CORS_ORIGINS: '{origin}' is a wildcard; list each allowed origin (e.g. \
             [\"https://app.example.com\"]): credentialed CORS cannot allow any origin"
        )));
    }
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with(':')
            && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    if !host_ok {
        return Err(ConfigError(format!(
            "BACKEND_CORS_ORIGINS: '{origin}' is not an origin (scheme http or https, a host and an optional \
             port, no path)"
        )));
    }
    Ok(origin.to_owned())
}

/// `PUBLIC_URL`: `http(s)://host[:port][/path]`, kept without a trailing slash (the alert's link appends
/// `/api/v1/...`).
fn public_url(url: &str) -> Result<String, ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with(['/', ':']) && !r.contains(['?', '#', ' ']) && !r.chars().any(char::is_control)
    });
    if !ok {
        return Err(ConfigError(format!(
            "PUBLIC_URL must be an http or https URL such as https://auth.example.com, got '{url}'"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn check_secret_key(key: &str, production: bool) -> Result<(), ConfigError> {
    if key.chars().count() < defaults::MIN_SECRET_KEY_LEN {
        return Err(ConfigError(format!(
            "SECRET_KEY must be at least {} characters long",
            defaults::MIN_SECRET_KEY_LEN
        )));
    }
    let lower = key.to_lowercase();
    let placeholder = KNOWN_PLACEHOLDER_KEYS.iter().any(|p| lower.starts_with(p));
    let distinct = {
        let mut chars: Vec<char> = key.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    if production && (placeholder || distinct < 10) {
        return Err(ConfigError(
            "SECRET_KEY is a known placeholder or too repetitive; set a strong random value in production \
             (e.g. `openssl rand -hex 32`)"
                .into(),
        ));
    }
    Ok(())
}

/// The file that keeps a generated development key: next to the SQLite database, or in the working
/// folder for PostgreSQL.
pub fn secret_file_for(url: &DatabaseUrl) -> PathBuf {
    match url {
        DatabaseUrl::Sqlite(path) if path != ":memory:" => PathBuf::from(format!("{path}.secret_key")),
        _ => PathBuf::from("latchkey.secret_key"),
    }
}

fn load_or_generate_secret(path: &Path) -> Result<(SecretKey, SecretSource), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let key = existing.trim().to_owned();
            check_secret_key(&key, false)
                .map_err(|e| ConfigError(format!("{} holds a bad key: {e}", path.display())))?;
            return Ok((SecretKey(key), SecretSource::File(path.to_owned())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
    }
    let key = random_hex(32);
    write_private(path, &key)
        .map_err(|e| ConfigError(format!("cannot save a generated SECRET_KEY to {}: {e}", path.display())))?;
    Ok((SecretKey(key), SecretSource::Generated(path.to_owned())))
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef-strong";

    #[test]
    fn defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x.db", dir.path().display());
        let c = config(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(c.port, 8000);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.access_token_expire_minutes, 15);
        assert_eq!(c.refresh_token_expire_days, 7);
        assert_eq!(c.session_max_lifetime_days, 30);
        assert_eq!(c.rate_limit_scale, 1.0);
        assert!(c.migrates_on_start());
        assert_eq!(c.cors_origins, vec!["http://localhost:3000"]);
    }

    #[test]
    fn access_log_and_metrics_address() {
        let base = [("DATABASE_URL", "postgres://x/y"), ("SECRET_KEY", KEY)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            config(&pairs)
        };
        let c = with(&[]).unwrap();
        assert_eq!(c.access_log, AccessLog::All);
        assert_eq!(c.metrics_addr, None);
        assert_eq!(c.workers, None);
        assert_eq!(with(&[("WORKERS", "3")]).unwrap().workers, Some(3));
        assert!(with(&[("WORKERS", "0")]).unwrap_err().to_string().contains("WORKERS"));
        assert_eq!(with(&[("ACCESS_LOG", "off")]).unwrap().access_log, AccessLog::Off);
        assert_eq!(with(&[("ACCESS_LOG", "0")]).unwrap().access_log, AccessLog::Off);
        assert_eq!(with(&[("ACCESS_LOG", "ON")]).unwrap().access_log, AccessLog::All);
        assert_eq!(with(&[("ACCESS_LOG", "0.05")]).unwrap().access_log, AccessLog::Sample(0.05));
        for bad in ["2", "-0.1", "sometimes", "NaN"] {
            let err = with(&[("ACCESS_LOG", bad)]).unwrap_err().to_string();
            assert!(err.contains("ACCESS_LOG"), "{bad}: {err}");
        }
        let c = with(&[("METRICS_ADDR", "127.0.0.1:9100")]).unwrap();
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        let err = with(&[("METRICS_ADDR", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("METRICS_ADDR"), "{err}");
        assert!(c.metrics_enabled);
        assert!(!with(&[("METRICS", "false")]).unwrap().metrics_enabled);
        let err = with(&[("METRICS", "false"), ("METRICS_ADDR", "127.0.0.1:9100")]).unwrap_err().to_string();
        assert!(err.contains("METRICS=false"), "{err}");
    }

    #[test]
    fn generated_key_is_persisted_privately_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x.db", dir.path().display());
        let first = config(&[("DATABASE_URL", &url)]).unwrap();
        assert!(matches!(first.secret_source, SecretSource::Generated(_)));
        let path = dir.path().join("x.db.secret_key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = config(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(second.secret_source, SecretSource::File(path));
        assert_eq!(first.secret_key, second.secret_key);
    }

    #[test]
    fn production_needs_a_strong_explicit_key() {
        let err = config(&[("ENVIRONMENT", "production"), ("DATABASE_URL", "postgres://x/y")]).unwrap_err();
        assert!(err.to_string().contains("SECRET_KEY must be set"));
        let err = config(&[
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", "dev_only_insecure_key_change_in_production_32chars_min"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("placeholder"));
        let err = config(&[("ENVIRONMENT", "production"), ("SECRET_KEY", &"a".repeat(40))]).unwrap_err();
        assert!(err.to_string().contains("repetitive"));
        assert!(config(&[("ENVIRONMENT", "production"), ("SECRET_KEY", KEY)]).is_ok());
        let err = config(&[("SECRET_KEY", "short")]).unwrap_err();
        assert!(err.to_string().contains("at least 32"));
    }

    #[test]
    fn bad_values_are_named() {
        for (name, value, needle) in [
            ("PORT", "http", "PORT must be a whole number"),
            ("RATE_LIMIT_SCALE", "-1", "RATE_LIMIT_SCALE"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, nope", "'nope'"),
            ("AUTO_MIGRATE", "maybe", "AUTO_MIGRATE"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT"),
            ("DATABASE_URL", "mysql://h/db", "DATABASE_URL"),
            ("BACKEND_CORS_ORIGINS", "[1,2]", "BACKEND_CORS_ORIGINS"),
            ("BACKEND_CORS_ORIGINS", "*", "wildcard"),
            ("BACKEND_CORS_ORIGINS", r#"["*"]"#, "wildcard"),
            ("BACKEND_CORS_ORIGINS", "https://*.example.com", "wildcard"),
            ("BACKEND_CORS_ORIGINS", "example.com", "is not an origin"),
            ("BACKEND_CORS_ORIGINS", "https://a.example/app", "is not an origin"),
        ] {
            let err = config(&[("SECRET_KEY", KEY), (name, value)]).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}={value}: {err}");
        }
    }

    #[test]
    fn lists_parse() {
        let c = config(&[
            ("SECRET_KEY", KEY),
            ("DATABASE_URL", "postgres://h/db"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1"),
            ("BACKEND_CORS_ORIGINS", r#"["http://a.example", "https://b.example/"]"#),
        ])
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert_eq!(c.cors_origins, vec!["http://a.example", "https://b.example"]);
        assert!(!c.migrates_on_start());
        assert!(!format!("{c:?}").contains(KEY));
        let with_password = config(&[
            ("SECRET_KEY", KEY),
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("SMTP_URL", "smtp://u:pw2@h"),
        ])
        .unwrap();
        let debug = format!("{with_password:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("pw2"), "{debug}");
    }

    #[test]
    fn the_reset_link_path_is_configurable_and_checked() {
        assert_eq!(reset_password_path(None).unwrap(), "/reset-password");
        assert_eq!(
            reset_password_path(Some(" /en/password-reset/confirm ".into())).unwrap(),
            "/en/password-reset/confirm"
        );
        for bad in ["reset", "//evil.example/x", "/reset?x=1", "/reset#x", "/re set"] {
            assert!(reset_password_path(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
