//! The database as the rest of the code holds it: `Db`, a connection pool over one backend, with its
//! settings (`PoolOptions`), its figures (`PoolState`), the per-connection settings it applies to each new
//! connection (the customizer), how it logs an outage, and the deadline a checkout may wait until.

use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::event::AcquireEvent;
use diesel::r2d2::{self, CustomizeConnection, HandleError, HandleEvent, ManageConnection, R2D2Connection};

use crate::connection::{AnyConnection, Backend};
use crate::error::DbError;
use crate::sqlite::WriterGate;
use crate::url::DatabaseUrl;

/// The r2d2 manager: establishes by scheme, pings with `SELECT 1`.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        self.url.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        conn.ping().map(|_| ()).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Per-connection settings, applied whenever the pool opens a connection.
#[derive(Debug, Clone, Copy)]
struct Customizer {
    statement_timeout: Duration,
    busy_timeout: Duration,
}

impl CustomizeConnection<AnyConnection, r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        let sql = match conn {
            AnyConnection::Sqlite(_) => format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = {};",
                self.busy_timeout.as_millis()
            ),
            AnyConnection::Pg(_) => format!(
                "SET statement_timeout = {}; SET application_name = 'latchkey';",
                self.statement_timeout.as_millis()
            ),
        };
        conn.batch_execute(&sql).map_err(r2d2::Error::QueryError)?;
        if let AnyConnection::Sqlite(inner) = conn {
            crate::search::register_sqlite_functions(inner).map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// How the pool reports that it cannot connect. r2d2's default logs every failed attempt of its
/// background threads at ERROR: while the database is down that is a line every few hundred milliseconds
/// per missing connection, on top of the one ERROR line each failed request writes, with this same cause,
/// where it becomes a 503. Instead: one WARN when connecting starts to fail, one INFO when it works again.
#[derive(Debug, Clone, Default)]
struct ConnectLog {
    failing: Arc<AtomicBool>,
}

impl ConnectLog {
    /// Records a failed attempt; true for the first of a run of failures.
    fn failed(&self) -> bool {
        !self.failing.swap(true, Ordering::Relaxed)
    }

    /// Records a new connection; true when it ends a run of failures.
    fn connected(&self) -> bool {
        self.failing.swap(false, Ordering::Relaxed)
    }
}

impl HandleError<r2d2::Error> for ConnectLog {
    fn handle_error(&self, error: r2d2::Error) {
        if self.failed() {
            tracing::warn!(error = %error, "cannot connect to the database; retrying in the background");
        } else {
            tracing::debug!(error = %error, "still cannot connect to the database");
        }
    }
}

impl HandleEvent for ConnectLog {
    fn handle_acquire(&self, _: AcquireEvent) {
        if self.connected() {
            tracing::info!("connected to the database again");
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a request waits for a free connection before the database counts as unavailable.
    pub connection_timeout: Duration,
    /// PostgreSQL `statement_timeout`.
    pub statement_timeout: Duration,
    /// SQLite `busy_timeout`: how long a writer waits for the write lock.
    pub busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            connection_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// How many connections the pool holds, how many of them are idle, and how many it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max_size: u32,
}

/// A connection checked out of the pool; it goes back when dropped. Derefs to [`AnyConnection`].
pub struct PooledConn {
    conn: r2d2::PooledConnection<Manager>,
    /// The pool's writer gate (SQLite only): see [`crate::transaction::write_transaction`].
    pub(crate) writers: WriterGate,
}

impl fmt::Debug for PooledConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledConn").field(&*self.conn).finish()
    }
}

impl Deref for PooledConn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// The database: a connection pool over one backend. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// Where this process's SQLite writers queue (see [`WriterGate`]).
    writers: WriterGate,
    /// The URL, for the connections a pool does not hold (the cache's `LISTEN`).
    url: DatabaseUrl,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Db {
    /// Builds the pool without opening a connection yet, so a server can start (and report 503 on
    /// `/health`) while its database is down. Errors only on a bad URL.
    pub fn new(url: &DatabaseUrl, options: PoolOptions) -> Result<Db, DbError> {
        let log = ConnectLog::default();
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size.max(1))
            .min_idle(Some(0))
            // r2d2 would run `SELECT 1` on every checkout: a second statement (a round trip on
            // PostgreSQL) on every request. A connection that broke is discarded by `has_broken` after
            // the query that found out, and that query's request gets a 503.
            .test_on_check_out(false)
            // A connection that the database closed (it restarted, or its host went away) fails the query
            // that finds out; diesel then marks it broken (libpq reports no transaction status) and
            // `has_broken` keeps it out of the pool, whose background threads connect anew with backoff
            // (0.2 s doubling up to half the connection timeout) until the database is back.
            .error_handler(Box::new(log.clone()))
            .event_handler(Box::new(log))
            .connection_timeout(options.connection_timeout)
            .connection_customizer(Box::new(Customizer {
                statement_timeout: options.statement_timeout,
                busy_timeout: options.busy_timeout,
            }))
            .build_unchecked(Manager { url: url.clone() });
        let backend = url.backend();
        Ok(Db { pool, backend, writers: WriterGate::for_backend(backend), url: url.clone() })
    }

    /// Parses the URL and builds the pool.
    pub fn from_url(url: &str, options: PoolOptions) -> Result<Db, DbError> {
        Db::new(&DatabaseUrl::parse(url)?, options)
    }

    /// The backend behind this pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL URL the pool connects to (`None` on SQLite), for a connection of its own.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Some(url.as_str()),
            DatabaseUrl::Sqlite(_) => None,
        }
    }

    /// How long a checkout waits for a connection before the database counts as unavailable.
    pub fn connection_timeout(&self) -> Duration {
        self.pool.connection_timeout()
    }

    /// Runs `f` on this thread with every checkout bounded by `deadline` as well as by the pool's own
    /// timeout: a request that already waited for its turn before coming here (the service's database
    /// gate) gets no more than the rest of one timeout in all.
    pub fn checkouts_until<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
        /// Puts the previous deadline back, even when `f` panics.
        struct Restore(Option<Instant>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CHECKOUT_DEADLINE.set(self.0);
            }
        }
        let _restore = Restore(CHECKOUT_DEADLINE.replace(Some(deadline)));
        f()
    }

    /// Takes a connection from the pool; a timeout means the database is unavailable.
    pub fn conn(&self) -> Result<PooledConn, DbError> {
        let conn = self
            .pool
            .get_timeout(bounded_by_deadline(self.connection_timeout()))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(PooledConn { conn, writers: self.writers.clone() })
    }

    /// The pool's figures now, for the metrics.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState { connections: state.connections, idle: state.idle_connections, max_size: self.pool.max_size() }
    }

    /// Runs `SELECT 1`, waiting at most `timeout` for a connection.
    pub fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let mut conn =
            self.pool.get_timeout(bounded_by_deadline(timeout)).map_err(|e| DbError::Unavailable(e.to_string()))?;
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }
}

thread_local! {
    /// The latest instant a checkout on this thread may wait until (see [`Db::checkouts_until`]).
    static CHECKOUT_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// `timeout`, or less when this thread runs under a [`Db::checkouts_until`] deadline that comes sooner.
fn bounded_by_deadline(timeout: Duration) -> Duration {
    CHECKOUT_DEADLINE.get().map_or(timeout, |deadline| deadline.saturating_duration_since(Instant::now()).min(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_reported_once_per_outage() {
        let log = ConnectLog::default();
        assert!(!log.connected(), "connecting at start-up is not a recovery");
        assert!(log.failed());
        assert!(!log.failed());
        assert!(!log.failed());
        assert!(log.connected());
        assert!(!log.connected());
        assert!(log.failed(), "a second outage is reported again");
    }

    #[test]
    fn a_checkout_waits_no_longer_than_the_deadline_it_runs_under() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.db").display().to_string());
        let options =
            PoolOptions { max_size: 1, connection_timeout: Duration::from_secs(30), ..PoolOptions::default() };
        let db = Db::new(&url, options).unwrap();
        let held = db.conn().unwrap();
        // The only connection is taken: under a deadline 50 ms away, the checkout gives up then, not after
        // the pool's 30 s; and the deadline ends with the closure.
        let started = Instant::now();
        let outcome = Db::checkouts_until(started + Duration::from_millis(50), || db.conn());
        assert!(matches!(outcome, Err(DbError::Unavailable(_))), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
        assert_eq!(CHECKOUT_DEADLINE.get(), None);
        drop(held);
        assert!(db.conn().is_ok());
    }
}
