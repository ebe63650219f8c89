//! latchkey-service: the use cases — register, login, refresh, logout, sessions, users, password reset,
//! cleanup — and the configuration. It owns transactions and takes a `Clock`; it turns domain, token and
//! database pieces into behaviour. Database steps are synchronous (diesel is) and run on the runtime's
//! blocking pool; password hashing runs on the service's own hashing pool (`hash_pool`) and is awaited, so
//! use cases that hash are `async` and run their database steps through `Services::blocking`. The service
//! uses tokio's blocking pool and channels, never actix.
//!
//! Depends on `latchkey-domain`, `latchkey-db` and `latchkey-auth`; it must never depend on actix or any
//! other HTTP type.

pub mod admin;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod caller;
pub mod cleanup;
pub mod config;
pub mod counters;
pub mod database;
pub mod error;
pub mod geoip;
pub mod hash_pool;
pub mod mail;
pub mod not_me;
pub mod organizations;
pub mod password_reset;
pub mod services;
pub mod session_cache;
pub mod sessions;
pub mod throttle;
pub mod user_fields;
pub mod users;
pub mod views;

pub use auth::Authenticated;
pub use config::Config;
pub use error::ServiceError;
pub use services::{Policy, Services};
