//! The cleanup job: deletes sessions that ended long enough ago, old security events, and login-throttle
//! counters whose window is over. `latchkey-cleanup` (run by cron) is a thin shell around [`run`].
//! Each table is cleaned on its own: a failure on one is reported and the others are still cleaned.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use latchkey_db::repo::{events, sessions, throttle};
use latchkey_db::{Db, DbError, Ts};
use serde::Serialize;

/// What one run deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Sessions that ended (expired or revoked) more than this long ago are deleted.
    pub session_retention: Duration,
    /// Security events older than this are deleted.
    pub event_retention: Duration,
    /// Rows per DELETE statement; each batch is its own short transaction.
    pub batch_size: i64,
    /// Count what would be deleted, delete nothing.
    pub dry_run: bool,
}

impl CleanupPolicy {
    /// The default batch size.
    pub const DEFAULT_BATCH_SIZE: i64 = 5000;
}

/// Per-table counts of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    pub user_sessions: u64,
    pub security_events: u64,
    pub login_throttle: u64,
}

/// The one-line JSON report the binary prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Rows deleted (in a failed table, those deleted before the failure), or in a dry run the rows that
    /// would be.
    pub deleted: TableCounts,
    /// Each table's outcome: `"ok"`, or the error that stopped its cleanup.
    pub tables: BTreeMap<&'static str, String>,
    /// Whether every table was cleaned.
    pub ok: bool,
    pub dry_run: bool,
    pub duration_ms: u64,
    pub session_cutoff: DateTime<Utc>,
    pub event_cutoff: DateTime<Utc>,
}

impl CleanupReport {
    /// The tables whose cleanup failed, with the error.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.tables.iter().filter(|(_, outcome)| outcome.as_str() != "ok").map(|(t, e)| (*t, e.as_str()))
    }
}

/// How long a login-throttle counter lives: its window (see `Policy::login_window`).
fn throttle_window() -> Duration {
    Duration::minutes(crate::config::defaults::LOGIN_WINDOW_MINUTES)
}

/// One cleanup run at `now` under `policy`. Never stops at a failing table: each table's outcome is in
/// the report, and `ok` is false when any failed.
pub fn run(db: &Db, now: DateTime<Utc>, policy: &CleanupPolicy) -> CleanupReport {
    let started = Instant::now();
    let session_cutoff = Ts(now - policy.session_retention);
    let event_cutoff = Ts(now - policy.event_retention);
    let throttle_cutoff = Ts(now - throttle_window());
    let batch = policy.batch_size.max(1);
    let dry = policy.dry_run;

    let mut tables = BTreeMap::new();
    let mut clean = |table: &'static str,
                     count: &dyn Fn(&mut latchkey_db::AnyConnection) -> Result<i64, DbError>,
                     delete: &dyn Fn(&mut latchkey_db::AnyConnection) -> Result<usize, DbError>|
     -> u64 {
        let mut done = 0u64;
        let outcome = db.conn().and_then(|mut conn| {
            if dry {
                done = u64::try_from(count(&mut conn)?).unwrap_or(0);
                return Ok(());
            }
            // Repeat the batched delete until a batch comes back empty.
            loop {
                match delete(&mut conn)? {
                    0 => return Ok(()),
                    n => done += n as u64,
                }
            }
        });
        match outcome {
            Ok(()) => tables.insert(table, "ok".to_owned()),
            Err(e) => {
                tracing::error!(table, error = %e, "cleanup of a table failed");
                tables.insert(table, format!("failed: {e}"))
            }
        };
        done
    };
    let deleted = TableCounts {
        user_sessions: clean("user_sessions", &|c| sessions::count_ended_before(c, session_cutoff), &|c| {
            sessions::delete_ended_before(c, session_cutoff, batch)
        }),
        security_events: clean("security_events", &|c| events::count_before(c, event_cutoff), &|c| {
            events::delete_before(c, event_cutoff, batch)
        }),
        login_throttle: clean("login_throttle", &|c| throttle::count_before(c, throttle_cutoff), &|c| {
            throttle::delete_before(c, throttle_cutoff, batch)
        }),
    };
    let ok = tables.values().all(|outcome| outcome == "ok");
    CleanupReport {
        deleted,
        tables,
        ok,
        dry_run: dry,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        session_cutoff: session_cutoff.0,
        event_cutoff: event_cutoff.0,
    }
}
