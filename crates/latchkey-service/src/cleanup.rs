//! The cleanup job: deletes sessions that ended long enough ago, and old security events.
//! `latchkey-cleanup` (run by cron) is a thin shell around [`run`].

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use latchkey_db::repo::{events, sessions};
use latchkey_db::{Db, Ts};
use serde::Serialize;

use crate::error::ServiceError;

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
}

/// The one-line JSON report the binary prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Rows deleted, or in a dry run the rows that would be.
    pub deleted: TableCounts,
    pub dry_run: bool,
    pub duration_ms: u64,
    pub session_cutoff: DateTime<Utc>,
    pub event_cutoff: DateTime<Utc>,
}

/// One cleanup run at `now` under `policy`.
pub fn run(db: &Db, now: DateTime<Utc>, policy: &CleanupPolicy) -> Result<CleanupReport, ServiceError> {
    let started = Instant::now();
    let session_cutoff = now - policy.session_retention;
    let event_cutoff = now - policy.event_retention;
    let batch = policy.batch_size.max(1);
    let mut conn = db.conn()?;

    let deleted = if policy.dry_run {
        TableCounts {
            user_sessions: sessions::count_ended_before(&mut conn, Ts(session_cutoff))? as u64,
            security_events: events::count_before(&mut conn, Ts(event_cutoff))? as u64,
        }
    } else {
        let user_sessions = drain(|| sessions::delete_ended_before(&mut conn, Ts(session_cutoff), batch))?;
        let security_events = drain(|| events::delete_before(&mut conn, Ts(event_cutoff), batch))?;
        TableCounts { user_sessions, security_events }
    };

    Ok(CleanupReport {
        deleted,
        dry_run: policy.dry_run,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        session_cutoff,
        event_cutoff,
    })
}

/// Repeats a batched delete until a batch comes back empty.
fn drain(mut batch: impl FnMut() -> Result<usize, latchkey_db::DbError>) -> Result<u64, ServiceError> {
    let mut total = 0u64;
    loop {
        match batch()? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}
