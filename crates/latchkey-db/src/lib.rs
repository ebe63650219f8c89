//! latchkey-db: everything diesel. The schema, row structs, repositories, the connection pool over
//! PostgreSQL or SQLite (one `AnyConnection` type for both), the embedded migrations and `DbError`.
//!
//! Depends on `latchkey-domain` only; it must never depend on actix, on token or hashing code, or read
//! the wall clock: every time comes in as an argument.
//!
//! The modules, leaves first: `error` (`DbError`); `connection` (`AnyConnection`, `Backend`); `types`,
//! `schema`, `models` (the SQL types, tables and rows); `url` (`DatabaseUrl`: which backend, one
//! connection); `search` (case-insensitive search: `lk_lower`, `like_contains`); `sqlite` (the writer gate,
//! the WAL helpers); `pool` (`Db`, its options, customizer and checkout deadlines); `transaction`
//! (`write_transaction`, `write_statements`); `repo` (one module per table); `migrations`; `listen`
//! (PostgreSQL `LISTEN` for the session cache).

pub mod connection;
pub mod error;
pub mod listen;
pub mod migrations;
pub mod models;
pub mod pool;
pub mod repo;
pub mod schema;
pub mod search;
pub mod sqlite;
pub mod transaction;
pub mod types;
pub mod url;

pub use connection::{AnyConnection, Backend};
pub use error::DbError;
pub use pool::{Db, PoolOptions, PoolState, PooledConn};
pub use sqlite::{checkpoint_wal, set_wal_autocheckpoint};
pub use transaction::{write_statements, write_transaction};
pub use types::{Id, Json, Ts};
pub use url::DatabaseUrl;
