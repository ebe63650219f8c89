//! `Services`: everything the use cases need, built once at start-up and shared by all workers.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use latchkey_auth::{AlertTokens, DeviceTokens, PasswordHasher, ResetTokens, ThrottleKeys, TokenKeys};
use latchkey_db::Db;
use latchkey_domain::SessionLifetimes;
use latchkey_domain::clock::Clock;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::ServiceError;
use crate::geoip::Locator;
use crate::hash_pool::{HashPool, HashPoolOptions};
use crate::mail::{EmailSender, LogSender, MailQueue, SmtpSender};
use crate::session_cache::{self, SessionCache, StopOnDrop};

/// Session and login rules taken from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub lifetimes: SessionLifetimes,
    /// A refresh token rotated out less than this long ago is answered 401 without revoking the session.
    pub reuse_grace: Duration,
    /// 0 = unlimited; otherwise a login revokes the least recently used sessions beyond this count.
    pub max_sessions_per_user: u32,
    /// Failed logins per account allowed in `login_window`; more get 429.
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// How long a device stays known: a device token's life.
    pub known_device: Duration,
    /// Failed logins a known device may still try in `login_window` while its account is throttled.
    pub device_max_failures: u32,
    /// `last_used_at` is written at most this often by ordinary authenticated requests.
    pub touch_interval: Duration,
}

impl Policy {
    /// The policy the configuration describes.
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            lifetimes: SessionLifetimes {
                access: Duration::minutes(config.sessions.access_token_expire_minutes),
                refresh: Duration::days(config.sessions.refresh_token_expire_days),
                absolute: Duration::days(config.sessions.session_max_lifetime_days),
            },
            reuse_grace: Duration::seconds(config.sessions.refresh_reuse_grace_seconds),
            max_sessions_per_user: config.sessions.max_sessions_per_user,
            login_max_failures: config.sessions.login_max_failures,
            login_window: Duration::minutes(crate::config::defaults::LOGIN_WINDOW_MINUTES),
            known_device: Duration::days(config.sessions.known_device_days),
            device_max_failures: crate::config::defaults::DEVICE_MAX_FAILURES,
            touch_interval: Duration::minutes(1),
        }
    }
}

/// New-device alerts: `NEW_DEVICE_ALERTS` and the `PUBLIC_URL` their "not me" links start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    pub enabled: bool,
    pub public_url: String,
}

/// The use cases' shared context.
#[derive(Debug)]
pub struct Services {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub tokens: TokenKeys,
    /// For one-off hashes outside a request (the CLI's create-superuser); requests use `hashing`.
    pub hasher: PasswordHasher,
    /// Every password hash and verification of a request goes through this pool.
    pub hashing: HashPool,
    pub reset_tokens: ResetTokens,
    /// Signs the device tokens a login hands out (the lockout's exemption).
    pub device_tokens: DeviceTokens,
    /// Signs the "not me" links of new-device alerts.
    pub alert_tokens: AlertTokens,
    /// Whether and where new-device alerts are sent.
    pub alerts: AlertSettings,
    pub throttle_keys: ThrottleKeys,
    pub policy: Policy,
    /// Outgoing email (reset links), sent by one thread from a bounded queue.
    pub mail: MailQueue,
    pub frontend_url: String,
    /// The frontend page of the reset link (`RESET_PASSWORD_PATH`).
    pub reset_password_path: String,
    /// Where client addresses are (`GEOIP_DATABASE`); shared with the thread that reloads its file.
    pub geoip: Arc<Locator>,
    /// One permit per pool connection: see [`Services::blocking`].
    db_slots: Arc<Semaphore>,
    /// The latest database check, which concurrent checks share: see [`Services::check_database`].
    db_check: tokio::sync::Mutex<Option<DatabaseCheck>>,
    /// The sessions this node admitted (see [`crate::session_cache`]).
    pub cache: Arc<SessionCache>,
    /// Its threads (listening for changes on PostgreSQL; writing "last used"), stopped with `Services`.
    _cache_threads: Vec<StopOnDrop>,
}

/// A finished database check: when it ended, and the cause when it failed.
#[derive(Debug)]
struct DatabaseCheck {
    finished: Instant,
    outcome: Result<(), String>,
}

impl Services {
    /// Builds the context; fails on an unusable SMTP setting, a broken JWT backend or a GeoIP file that
    /// cannot be used.
    pub fn new(config: &Config, db: Db, clock: Arc<dyn Clock>) -> Result<Services, ServiceError> {
        Services::with_mailer(config, db, clock, default_mailer(config)?)
    }

    /// Builds the context with a given email sender (tests capture the mail).
    pub fn with_mailer(
        config: &Config,
        db: Db,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn EmailSender>,
    ) -> Result<Services, ServiceError> {
        let tokens = TokenKeys::new(config.secret_key.expose());
        tokens.self_test(clock.now())?;
        let hasher = PasswordHasher::default();
        let hashing = HashPool::new(
            hasher.clone(),
            HashPoolOptions {
                workers: config.hashing.workers,
                queue_limit: config.hashing.queue_limit,
                max_wait: std::time::Duration::from_millis(config.hashing.max_wait_ms),
                nice: config.hashing.nice,
            },
        )?;
        let db_slots = Arc::new(Semaphore::new(db.pool_state().max_size as usize));
        let geoip = Locator::from_setting(config.geoip_database.as_deref())
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let policy = Policy::from_config(config);
        let (cache, cache_threads) = start_cache(config, &db, &clock, &policy)?;
        Ok(Services {
            cache,
            _cache_threads: cache_threads,
            geoip: Arc::new(geoip),
            db_slots,
            db_check: tokio::sync::Mutex::new(None),
            db,
            clock,
            tokens,
            hasher,
            hashing,
            reset_tokens: ResetTokens::new(config.secret_key.expose()),
            device_tokens: DeviceTokens::new(config.secret_key.expose()),
            alert_tokens: AlertTokens::new(config.secret_key.expose()),
            alerts: AlertSettings { enabled: config.mail.new_device_alerts, public_url: config.public_url.clone() },
            throttle_keys: ThrottleKeys::new(config.secret_key.expose()),
            policy,
            mail: MailQueue::new(mailer, config.mail.reset_mail_queue).map_err(ServiceError::Internal)?,
            frontend_url: config.mail.frontend_url.clone(),
            reset_password_path: config.mail.reset_password_path.clone(),
        })
    }

    /// Checks that the database answers a query, waiting at most `timeout` for a connection.
    pub fn ping(&self, timeout: std::time::Duration) -> Result<(), ServiceError> {
        Ok(self.db.ping(timeout)?)
    }

    /// Whether the database answers a query (the health check), waiting at most `timeout` for a connection.
    ///
    /// Checks that overlap share one query: a caller waits for the check in flight when it arrives, and
    /// takes that check's outcome, which was learnt after it asked; only a caller that finds no check newer
    /// than its arrival runs one. So a burst of health checks costs the database one `SELECT 1` per round
    /// trip rather than one each, and cannot take every pool connection from the requests that do work.
    pub async fn check_database(self: &Arc<Self>, timeout: std::time::Duration) -> Result<(), ServiceError> {
        let asked = Instant::now();
        let mut latest = self.db_check.lock().await;
        let outcome = match latest.as_ref() {
            Some(check) if check.finished >= asked => check.outcome.clone(),
            _ => {
                let outcome = self.blocking_within(timeout, move |svc| svc.ping(timeout)).await.map_err(|e| match e {
                    ServiceError::Unavailable(cause) => cause,
                    other => other.to_string(),
                });
                *latest = Some(DatabaseCheck { finished: Instant::now(), outcome: outcome.clone() });
                outcome
            }
        };
        outcome.map_err(ServiceError::Unavailable)
    }

    /// Writes the queued "last used" times now, rather than within a second on the cache's thread; returns
    /// how many sessions it wrote.
    pub fn flush_last_used(&self) -> usize {
        session_cache::touches::flush_touches(&self.cache, &self.db, self.now(), self.policy.touch_interval)
    }

    /// How many "last used" rows this node has written since it started, by its writer thread or by
    /// [`Services::flush_last_used`] (tests count writes with it: the thread may write first).
    pub fn last_used_writes(&self) -> u64 {
        self.cache.touches_written()
    }

    /// Now, from the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs database work on the runtime's blocking pool (diesel is synchronous), so the event loop never
    /// waits on the database. Password hashing never runs here: it goes through [`Services::hashing`].
    ///
    /// First it waits for a database slot (one per pool connection), asynchronously and in arrival order,
    /// holding no thread: with more requests than connections, the rest used to wait on blocking threads
    /// inside the pool's checkout, whose wake-ups are in no order, and the unlucky ones waited for
    /// hundreds of milliseconds (`GET /health` at 32 connections on PostgreSQL: p99 372 ms with 10
    /// connections). The wait for a slot and the checkout share one pool timeout: past it the database
    /// counts as unavailable (503). The request's span goes along to the blocking thread, so what is logged
    /// there carries the request id.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Services) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.blocking_within(self.db.connection_timeout(), f).await
    }

    /// [`Services::blocking`] with the wait for a slot and a connection bounded by `timeout` instead of the
    /// pool's timeout (the health check's shorter bound).
    pub async fn blocking_within<T: Send + 'static>(
        self: &Arc<Self>,
        timeout: std::time::Duration,
        f: impl FnOnce(&Services) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let deadline = Instant::now() + timeout;
        let wait = Arc::clone(&self.db_slots).acquire_owned();
        let slot = match tokio::time::timeout_at(deadline.into(), wait).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_closed)) => return Err(ServiceError::Internal("the database gate is closed".into())),
            Err(_elapsed) => {
                return Err(ServiceError::Unavailable(
                    "no database connection became free within the pool timeout".into(),
                ));
            }
        };
        let svc = Arc::clone(self);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            span.in_scope(|| Db::checkouts_until(deadline, || f(&svc)))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("a blocking task failed: {e}")))?
    }
}

/// The session cache and its threads: on PostgreSQL a listener (without one the cache serves nothing), and
/// the writer of "last used" times.
fn start_cache(
    config: &Config,
    db: &Db,
    clock: &Arc<dyn Clock>,
    policy: &Policy,
) -> Result<(Arc<SessionCache>, Vec<StopOnDrop>), ServiceError> {
    let settings = &config.session_cache;
    let postgres = db.postgres_url().map(str::to_owned);
    let cache = Arc::new(SessionCache::new(settings, postgres.is_some()));
    let thread_failed = |e: std::io::Error| ServiceError::Internal(format!("starting a session cache thread: {e}"));
    let mut threads = vec![
        session_cache::touches::write_touches(Arc::clone(&cache), db.clone(), Arc::clone(clock), policy.touch_interval)
            .map_err(thread_failed)?,
    ];
    if let (true, Some(url)) = (settings.enabled, postgres) {
        let url = settings.listen_url.as_ref().map_or(url, |listen| listen.expose().to_owned());
        threads
            .push(session_cache::listener::listen(Arc::clone(&cache), url, Arc::clone(clock)).map_err(thread_failed)?);
    }
    Ok((cache, threads))
}

/// The sender the configuration asks for: SMTP when `SMTP_URL` is set, else the log backend, which shows
/// message bodies (reset links) only outside production.
pub fn default_mailer(config: &Config) -> Result<Arc<dyn EmailSender>, ServiceError> {
    Ok(match &config.mail.smtp_url {
        Some(url) => Arc::new(SmtpSender::new(url.expose(), &config.mail.smtp_from).map_err(ServiceError::Internal)?),
        None => Arc::new(LogSender { show_body: !config.is_production() }),
    })
}

impl Services {
    /// How many password hashes run and wait now (read without blocking), for the metrics.
    pub fn hashing_load(&self) -> HashingLoad {
        HashingLoad {
            in_flight: self.hashing.in_flight(),
            queued: self.hashing.queued(),
            shed: self.hashing.shed_total(),
        }
    }
}

/// The password-hashing load at one instant, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLoad {
    /// Hashes being computed.
    pub in_flight: usize,
    /// Hashes waiting for a slot.
    pub queued: usize,
    /// Requests shed (503) since start-up because the hashing queue was full or too slow.
    pub shed: u64,
}
