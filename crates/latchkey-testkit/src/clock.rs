//! Time in tests: a fixed start and a clock that only moves when a test moves it.

use chrono::{DateTime, TimeZone, Utc};
use latchkey_domain::ManualClock;

/// A fixed "now": tests never read the wall clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

/// A manual clock showing [`t0`].
pub fn clock() -> ManualClock {
    ManualClock::new(t0())
}
