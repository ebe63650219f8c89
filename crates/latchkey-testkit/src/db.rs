//! Test databases: a fresh, migrated database per test, on SQLite always and on
//! PostgreSQL when `LATCHKEY_TEST_POSTGRES_URL` is set. Each is removed when dropped.
//!
//! SQLite gets a temporary file; PostgreSQL gets a fresh schema in the given database, selected through
//! the connection's `search_path`, dropped with `CASCADE` by the guard.

use std::io::Write as _;

use diesel::connection::SimpleConnection;
use latchkey_db::{DatabaseUrl, Db, DbError, PoolOptions};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";
/// When set, each PostgreSQL test appends a line to this file, so CI can prove they ran.
pub const POSTGRES_MARKER_VAR: &str = "LATCHKEY_TEST_POSTGRES_MARKER";

/// A migrated, empty test database. Dropping it removes the database.
#[derive(Debug)]
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// The URL the pool was built from (for code under test that takes a URL).
    pub url: String,
    /// Which backend this is, for test messages.
    pub label: &'static str,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "held only to delete the folder on drop")] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl TestDb {
    /// A fresh SQLite database in a temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temp dir for the test database");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::from_url(&url, PoolOptions { max_size: 4, ..PoolOptions::default() }).expect("sqlite pool");
        db.migrate().expect("migrate the sqlite test database");
        TestDb { db, url, label: "sqlite", cleanup: Cleanup::Sqlite(dir) }
    }

    /// A fresh schema in the PostgreSQL database at `admin_url`.
    pub fn postgres(admin_url: &str) -> TestDb {
        let schema = format!("lk_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = DatabaseUrl::parse(admin_url)
            .and_then(|u| u.establish().map_err(|e| DbError::Unavailable(e.to_string())))
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is not reachable: {e}"));
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create test schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
        let db = Db::from_url(&url, PoolOptions { max_size: 4, ..PoolOptions::default() }).expect("postgres pool");
        db.migrate().expect("migrate the postgres test schema");
        if let Ok(marker) = std::env::var(POSTGRES_MARKER_VAR)
            && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(marker)
        {
            let _ = writeln!(f, "{schema}");
        }
        TestDb { db, url, label: "postgres", cleanup: Cleanup::Postgres { admin_url: admin_url.to_owned(), schema } }
    }

    /// The backends to test on: SQLite always, PostgreSQL when the environment names one.
    pub fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        if let Some(url) = postgres_url() {
            dbs.push(TestDb::postgres(&url));
        }
        dbs
    }

    /// A second pool of `max_size` connections on this database (a second node, or enough connections
    /// for every thread of a race).
    pub fn pool(&self, max_size: u32) -> Db {
        Db::from_url(&self.url, PoolOptions { max_size, ..PoolOptions::default() }).expect("a second pool")
    }
}

/// The PostgreSQL URL for tests, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup
            && let Ok(url) = DatabaseUrl::parse(admin_url)
            && let Ok(mut admin) = url.establish()
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}
