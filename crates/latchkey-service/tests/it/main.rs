//! latchkey-service integration tests, each on SQLite and (when `LATCHKEY_TEST_POSTGRES_URL` is set)
//! PostgreSQL.

mod admin;
mod admission;
mod cleanup;
mod errors;
mod organizations;
mod races;
mod session_cache;

use chrono::{DateTime, TimeZone, Utc};

/// A fixed "now": tests never read the wall clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}
