//! latchkey-http integration tests: the real `App`, driven in process through the test kit's `TestApp`, on
//! SQLite and (when `LATCHKEY_TEST_POSTGRES_URL` is set) PostgreSQL.

mod admin;
mod alerts;
mod arrows;
mod auth;
mod bodies;
mod cli;
mod docs;
mod fuzz;
mod geoip;
mod hardening;
mod observability;
mod organizations;
mod outage;
mod sessions;
mod shell;
mod system;
mod users;
