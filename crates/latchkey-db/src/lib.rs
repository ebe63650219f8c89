//! latchkey-db: everything diesel. The schema, row structs, repositories, the connection pool over
//! PostgreSQL or SQLite (one `AnyConnection` type for both), the embedded migrations and `DbError`.
//!
//! Depends on `latchkey-domain` only; it must never depend on actix, on token or hashing code, or read
//! the wall clock: every time comes in as an argument.

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
