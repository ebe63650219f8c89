//! `DATABASE_URL`: which backend a URL names (`DatabaseUrl`), opening one connection to it, and the owner-only
//! permissions of a new SQLite file.

use std::fmt;

use diesel::prelude::*;

use crate::connection::{AnyConnection, Backend};
use crate::error::DbError;

/// Which database a URL names. The derived `establish` would try PostgreSQL first and then take any
/// string as a SQLite file name, so the scheme is read here instead.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A `postgres://` or `postgresql://` URL, kept whole.
    Postgres(String),
    /// A SQLite file path (or `:memory:`).
    Sqlite(String),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Db, PoolOptions};

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
    fn parses_a_unix_socket_postgres_url_whole() {
        // libpq reads the socket folder from `host`; the URL reaches it unchanged.
        let url = "postgres:///latchkey?host=/var/run/postgresql";
        assert_eq!(DatabaseUrl::parse(url).unwrap(), DatabaseUrl::Postgres(url.into()));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        use std::time::Duration;
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
    fn debug_never_shows_a_postgres_url() {
        let url = DatabaseUrl::parse("postgres://user:hunter2@h/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
