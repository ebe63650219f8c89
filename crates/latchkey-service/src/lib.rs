//! latchkey-service: the use cases — register, login, refresh, logout, sessions, users, cleanup — and the
//! configuration. It owns transactions and takes a `Clock`; it turns domain, token and database pieces
//! into behaviour.
//!
//! Depends on `latchkey-domain`, `latchkey-db` and `latchkey-auth`; it must never depend on actix or any
//! other HTTP type.

pub mod cleanup;
pub mod config;
pub mod error;

pub use config::Config;
pub use error::ServiceError;
