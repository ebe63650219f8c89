//! Latchkey's test kit: what the crates' tests share. Used only as a dev-dependency; nothing here ships.
//!
//! - [`db`]: [`TestDb`], a fresh migrated database per test, on SQLite and (with
//!   `LATCHKEY_TEST_POSTGRES_URL`) PostgreSQL.
//! - [`clock`]: the fixed start time [`t0`] and a manual clock showing it.
//! - [`rows`]: row builders (users, sessions, organizations) for repository-level tests.
//! - [`config`]: the configuration tests run with, read like the environment's.
//! - [`services`]: the use cases' context over a test database, logins and threads released together.
//! - [`app`]: [`TestApp`], the real app in process, with a fluent client.
//! - [`mail`]: an outbox that captures the emails sent.
//! - [`geoip`]: small GeoIP files.
//! - [`chaos`]: a TCP proxy that refuses and resets connections, to take a database away and give it back.

pub mod app;
pub mod chaos;
pub mod clock;
pub mod config;
pub mod db;
pub mod geoip;
pub mod mail;
pub mod rows;
pub mod services;

pub use app::TestApp;
pub use clock::t0;
pub use db::TestDb;

/// The password the kit's accounts use.
pub const PASSWORD: &str = "Correct-Horse-9!";
