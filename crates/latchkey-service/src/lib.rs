//! latchkey-service: the use cases — register, login, refresh, logout, sessions, users, password reset,
//! cleanup — and the configuration. It owns transactions and takes a `Clock`; it turns domain, token and
//! database pieces into behaviour. Database steps are synchronous (diesel is) and run on the runtime's
//! blocking pool; password hashing runs on the service's own hashing pool (`hash_pool`) and is awaited, so
//! use cases that hash are `async` and run their database steps through `Services::blocking`. The service
//! uses tokio's blocking pool and channels, never actix.
//!
//! Depends on `latchkey-domain`, `latchkey-db` and `latchkey-auth`; it must never depend on actix or any
//! other HTTP type.
//!
//! Where the use cases are, by the API's seams:
//! - who is calling: `door` (the authentication check of every request), `caller` (`Authenticated`, and
//!   `Caller`, re-admitted inside a change's transaction), `authz` (roles and the wording of refusals);
//! - signing up and in: `registration` (and the first superuser), `login`, `refresh`, `logout`, `tokens`
//!   (the pair a session hands out), `throttle` (the throttled password check), `alerts` and `not_me`
//!   (new-device alerts and their answer), `password_reset`;
//! - the caller's own things: `my_account` (`/users/me`), `sessions` (`/sessions`);
//! - other people's: `accounts` (users by id, for `/users/{id}` and the admin API), `bulk`,
//!   `admin_sessions`, `stats`, `organizations` (`members` and `admin`);
//! - shared parts: `events` (the one writer of security events and the audit trail), `user_fields`,
//!   `views`, `error`; and the machinery: `services`, `session_cache`, `hash_pool`, `mail`, `geoip`,
//!   `counters`, `database`, `config`, `cleanup`.

pub mod accounts;
pub mod admin_sessions;
pub mod alerts;
pub mod authz;
pub mod bulk;
pub mod caller;
pub mod cleanup;
pub mod config;
pub mod counters;
pub mod database;
pub mod door;
pub mod error;
pub mod events;
pub mod geoip;
pub mod hash_pool;
pub mod login;
pub mod logout;
pub mod mail;
pub mod my_account;
pub mod not_me;
pub mod organizations;
pub mod password_reset;
pub mod refresh;
pub mod registration;
pub mod services;
pub mod session_cache;
pub mod sessions;
pub mod stats;
pub mod throttle;
pub mod tokens;
pub mod user_fields;
pub mod views;

pub use caller::Authenticated;
pub use config::Config;
pub use error::ServiceError;
pub use services::{Policy, Services};
