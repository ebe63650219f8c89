//! latchkey-service integration tests, each on SQLite and (when `LATCHKEY_TEST_POSTGRES_URL` is set)
//! PostgreSQL. Databases, services and logins come from `latchkey-testkit`.

mod admin;
mod admission;
mod cleanup;
mod errors;
mod organizations;
mod races;
mod session_cache;
