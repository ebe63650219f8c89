//! latchkey-db integration tests: migrations and repositories, each on SQLite and (when
//! `LATCHKEY_TEST_POSTGRES_URL` is set) PostgreSQL. Databases and rows come from `latchkey-testkit`.

mod listing;
mod migrations;
mod organizations;
mod repos;
