//! One connection type over PostgreSQL and SQLite, the pool, and the transaction helpers.

use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::event::AcquireEvent;
use diesel::r2d2::{self, CustomizeConnection, HandleError, HandleEvent, ManageConnection, R2D2Connection};

use crate::error::DbError;

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

/// Which database a URL names. The derived `establish` would try PostgreSQL first and then take any
/// string as a SQLite file name, so the scheme is read here instead.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A `postgres://` or `postgresql://` URL, kept whole.
    Postgres(String),
    /// A SQLite file path (or `:memory:`).
    Sqlite(String),
}

/// The backend a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl DatabaseUrl {
    /// Reads `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite:path` or a bare path.
    pub fn parse(url: &str) -> Result<DatabaseUrl, DbError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(DbError::Config("DATABASE_URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(DbError::Config("a sqlite:// URL needs a file path, e.g. sqlite://latchkey.db".into()));
            }
            return Ok(DatabaseUrl::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(DbError::Config(format!(
                "unsupported database URL scheme '{scheme}': use postgres://, postgresql:// or sqlite://"
            )));
        }
        Ok(DatabaseUrl::Sqlite(url.to_owned()))
    }

    /// The backend this URL names.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection.
    pub fn establish(&self) -> ConnectionResult<AnyConnection> {
        match self {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(AnyConnection::Pg),
            DatabaseUrl::Sqlite(path) => {
                create_private(path);
                SqliteConnection::establish(path).map(AnyConnection::Sqlite)
            }
        }
    }
}

/// Creates a SQLite database file that does not exist yet readable and writable by its owner only (0600):
/// it holds password hashes and session tokens' ids. SQLite gives its `-wal` and `-shm` files the database
/// file's permissions. An existing file keeps the permissions its operator gave it; in-memory databases and
/// `file:` URIs are left to SQLite. A failure here is left for SQLite's own open to report.
fn create_private(path: &str) {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // `AlreadyExists` is the usual case; anything else SQLite's open reports with the path.
    let _ = options.open(path);
}

/// Never prints the URL itself: a PostgreSQL URL may hold a password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Postgres(_) => f.write_str("DatabaseUrl::Postgres(..)"),
            DatabaseUrl::Sqlite(path) => write!(f, "DatabaseUrl::Sqlite({path:?})"),
        }
    }
}

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
            crate::repo::users::register_sqlite_functions(inner).map_err(r2d2::Error::QueryError)?;
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
    /// The pool's writer gate (SQLite only): see [`write_transaction`].
    writers: Option<Arc<Mutex<()>>>,
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
    /// SQLite admits one writer at a time. Writers of this process queue here, handed the lock the moment
    /// it is free, instead of polling it through SQLite's busy handler (which sleeps 1, 2, 5 … 100 ms
    /// between tries: most of the refresh path's tail latency under load). Other processes on the same
    /// file are still kept in order by `BEGIN IMMEDIATE` and `busy_timeout`.
    writers: Option<Arc<Mutex<()>>>,
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
        let writers = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Db { pool, backend, writers, url: url.clone() })
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

/// Runs `f` in a transaction that writes. On SQLite it first waits its turn at the pool's writer gate, then
/// begins with `BEGIN IMMEDIATE`, so the write lock is taken up front (waiting on `busy_timeout` only for
/// other processes); a deferred transaction that reads and then writes could fail with `SQLITE_BUSY` when
/// another writer got in between. On PostgreSQL it is an ordinary transaction. The closure's error type
/// only needs `From<DbError>`. Must not be nested: the gate is not reentrant.
pub fn write_transaction<T, E, F>(conn: &mut PooledConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<DbError>,
{
    /// Lets diesel's transaction machinery carry the caller's error type.
    enum TxError<E> {
        Caller(E),
        Db(diesel::result::Error),
    }
    impl<E> From<diesel::result::Error> for TxError<E> {
        fn from(e: diesel::result::Error) -> Self {
            TxError::Db(e)
        }
    }
    let unwrap = |e: TxError<E>| match e {
        TxError::Caller(e) => e,
        TxError::Db(e) => E::from(DbError::from(e)),
    };
    // A writer that panicked poisons the gate but leaves nothing behind it: a connection with a transaction
    // still open counts as broken and is discarded by the pool. So a poisoned gate is still a good gate.
    let gate = conn.writers.clone();
    let _turn = gate.as_deref().map(|g| g.lock().unwrap_or_else(PoisonError::into_inner));
    let conn: &mut AnyConnection = conn;
    match conn {
        AnyConnection::Pg(_) => conn.transaction(|c| f(c).map_err(TxError::Caller)).map_err(unwrap),
        AnyConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE").map_err(|e| E::from(e.into()))?;
            let result = f(conn);
            let AnyConnection::Sqlite(inner) = conn else {
                unreachable!("the closure cannot change the connection's variant")
            };
            match result {
                Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
                    Ok(()) => Ok(value),
                    Err(commit_err) => {
                        // A failed COMMIT leaves the transaction open; roll it back before reporting.
                        let _ = AnsiTransactionManager::rollback_transaction(inner);
                        Err(E::from(commit_err.into()))
                    }
                },
                Err(e) => {
                    AnsiTransactionManager::rollback_transaction(inner).map_err(|e| E::from(e.into()))?;
                    Err(e)
                }
            }
        }
    }
}

/// Runs `f`, a write whose statements are each atomic on their own and need no transaction around them, at
/// the least cost the backend allows. On PostgreSQL each statement commits by itself: no `BEGIN` and
/// `COMMIT` round trips. On SQLite it is [`write_transaction`], so it still waits its turn at the pool's
/// writer gate instead of meeting this process's other writers in SQLite's busy handler.
pub fn write_statements<T, E, F>(conn: &mut PooledConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<DbError>,
{
    match **conn {
        AnyConnection::Pg(_) => f(conn),
        AnyConnection::Sqlite(_) => write_transaction(conn, f),
    }
}

/// SQLite: whether this connection's commits checkpoint the WAL themselves once it has grown past 1,000
/// pages (SQLite's default, `on`). A long run of writes (the cleanup job) turns it off and checkpoints
/// between its statements instead, with [`checkpoint_wal`], so that the fsync of a checkpoint is never
/// part of a statement's time. PostgreSQL: nothing to do.
pub fn set_wal_autocheckpoint(conn: &mut AnyConnection, on: bool) -> Result<(), DbError> {
    match conn {
        AnyConnection::Pg(_) => Ok(()),
        AnyConnection::Sqlite(inner) => {
            let pages = if on { 1000 } else { 0 };
            Ok(inner.batch_execute(&format!("PRAGMA wal_autocheckpoint = {pages}"))?)
        }
    }
}

/// SQLite: copies what it can of the WAL into the database file (`PRAGMA wal_checkpoint(PASSIVE)`). A
/// passive checkpoint takes no write lock and waits for no reader or writer. PostgreSQL: nothing to do.
pub fn checkpoint_wal(conn: &mut AnyConnection) -> Result<(), DbError> {
    match conn {
        AnyConnection::Pg(_) => Ok(()),
        AnyConnection::Sqlite(inner) => Ok(inner.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_by_scheme() {
        assert_eq!(DatabaseUrl::parse("sqlite://latchkey.db").unwrap(), DatabaseUrl::Sqlite("latchkey.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(), DatabaseUrl::Sqlite("/tmp/x.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite:x.db").unwrap(), DatabaseUrl::Sqlite("x.db".into()));
        assert_eq!(DatabaseUrl::parse("data/x.db").unwrap(), DatabaseUrl::Sqlite("data/x.db".into()));
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(), Backend::Postgres);
        assert!(matches!(DatabaseUrl::parse("mysql://h/db"), Err(DbError::Config(_))));
        assert!(matches!(DatabaseUrl::parse("  "), Err(DbError::Config(_))));
        assert!(matches!(DatabaseUrl::parse("sqlite://"), Err(DbError::Config(_))));
    }

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
    fn parses_a_unix_socket_postgres_url_whole() {
        // libpq reads the socket folder from `host`; the URL reaches it unchanged.
        let url = "postgres:///latchkey?host=/var/run/postgresql";
        assert_eq!(DatabaseUrl::parse(url).unwrap(), DatabaseUrl::Postgres(url.into()));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::new(&DatabaseUrl::Sqlite(path.display().to_string()), PoolOptions::default()).unwrap();
        db.ping(Duration::from_secs(5)).unwrap();
        let wal = dir.path().join("t.db-wal");
        for file in std::iter::once(path.clone()).chain(wal.exists().then_some(wal)) {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        // An existing file keeps the permissions its operator chose.
        let shared = dir.path().join("shared.db");
        std::fs::write(&shared, b"").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        Db::new(&DatabaseUrl::Sqlite(shared.display().to_string()), PoolOptions::default())
            .unwrap()
            .ping(Duration::from_secs(5))
            .unwrap();
        assert_eq!(std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777, 0o640);
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

    #[test]
    fn a_writer_can_take_over_sqlite_checkpoints_and_give_them_back() {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            wal_autocheckpoint: i32,
        }
        let pages = |conn: &mut AnyConnection| match conn {
            AnyConnection::Sqlite(inner) => {
                diesel::sql_query("PRAGMA wal_autocheckpoint").get_result::<Setting>(inner).unwrap().wal_autocheckpoint
            }
            AnyConnection::Pg(_) => unreachable!("a SQLite test"),
        };
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.db").display().to_string());
        let db = Db::new(&url, PoolOptions { max_size: 1, ..PoolOptions::default() }).unwrap();
        let mut conn = db.conn().unwrap();
        assert_eq!(pages(&mut conn), 1000, "SQLite's default");
        set_wal_autocheckpoint(&mut conn, false).unwrap();
        assert_eq!(pages(&mut conn), 0);
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
        checkpoint_wal(&mut conn).unwrap();
        set_wal_autocheckpoint(&mut conn, true).unwrap();
        assert_eq!(pages(&mut conn), 1000);
    }

    #[test]
    fn debug_never_shows_a_postgres_url() {
        let url = DatabaseUrl::parse("postgres://user:hunter2@h/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
