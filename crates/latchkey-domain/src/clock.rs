//! Time is an argument: everything that needs "now" asks a [`Clock`]. This is the only module that reads
//! the wall clock; tests use [`ManualClock`] and move time by hand.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, DurationRound as _, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC, at microsecond precision (what both databases store).
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates to whole microseconds, so a time round-trips through PostgreSQL unchanged.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "the one place that reads the wall clock")]
    fn now(&self) -> DateTime<Utc> {
        truncate_micros(Utc::now())
    }
}

/// A clock that stands still until told to move. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(truncate_micros(t))))
    }

    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = truncate_micros(t);
    }

    /// Moves the time forward (or back, for a negative `by`).
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *t = truncate_micros(*t + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let c = ManualClock::new(t);
        let c2 = c.clone();
        c.advance(Duration::minutes(5));
        assert_eq!(c2.now(), t + Duration::minutes(5));
        c2.set(t);
        assert_eq!(c.now(), t);
    }

    #[test]
    fn truncates_to_microseconds() {
        let t = Utc.timestamp_opt(1_750_000_000, 123_456_789).unwrap();
        assert_eq!(truncate_micros(t), Utc.timestamp_opt(1_750_000_000, 123_456_000).unwrap());
        let c = ManualClock::new(t);
        assert_eq!(c.now().timestamp_subsec_nanos(), 123_456_000);
        c.advance(Duration::nanoseconds(-999));
        assert_eq!(c.now().timestamp_subsec_nanos(), 123_455_000);
    }

    #[test]
    fn system_clock_is_microsecond_precise() {
        let now = SystemClock.now();
        assert_eq!(now.timestamp_subsec_nanos() % 1000, 0);
    }
}
