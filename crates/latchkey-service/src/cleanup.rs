//! The cleanup job: deletes sessions that ended long enough ago, old security events, login-throttle
//! counters whose window is over, and "not me" answers whose link has expired. `latchkey-cleanup` (run by cron) is a thin shell around [`run`].
//! Each table is cleaned on its own: a failure on one is reported and the others are still cleaned.
//!
//! Batches are sized by time as well as by count: each DELETE is its own short transaction, and how long one
//! holds its locks (on SQLite, the database's one write lock) depends on the backend, the hardware and how
//! many indexes each deleted row touches. So the first batch is small ([`MIN_BATCH_SIZE`] rows), a batch
//! done in under half of [`CleanupPolicy::batch_time_target`] doubles the next one, never beyond
//! [`CleanupPolicy::batch_size`], and a batch that takes longer halves it, never below [`MIN_BATCH_SIZE`].

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use latchkey_db::repo::{alerts, events, sessions, throttle};
use latchkey_db::{Db, DbError, Ts, checkpoint_wal, set_wal_autocheckpoint};
use serde::Serialize;

/// What one run deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Sessions that ended (expired or revoked) more than this long ago are deleted.
    pub session_retention: Duration,
    /// Security events older than this are deleted.
    pub event_retention: Duration,
    /// The most rows per DELETE statement; each batch is its own short transaction.
    pub batch_size: i64,
    /// How long one batch should take at most: a slower batch halves the next one's size, a batch done in
    /// under half of this doubles it (up to `batch_size`).
    pub batch_time_target: StdDuration,
    /// Count what would be deleted, delete nothing.
    pub dry_run: bool,
}

impl CleanupPolicy {
    /// The default batch size.
    pub const DEFAULT_BATCH_SIZE: i64 = 5000;
    /// The default batch time target in milliseconds: a quarter of the second no statement should hold its
    /// locks for.
    pub const DEFAULT_BATCH_TARGET_MS: u64 = 250;
}

/// The fewest rows a batch shrinks to (or `batch_size`, when smaller). Below this a batch's time is mostly
/// its commit (on SQLite, the fsync of a WAL checkpoint), which no smaller batch shortens: on a loaded
/// machine, shrinking further only stopped the job from making progress.
pub const MIN_BATCH_SIZE: i64 = 100;

/// The size of the batch after one of `size` rows that took `took`: half when it took longer than
/// `target`, double when it took less than half of `target`, else the same; always within
/// `MIN_BATCH_SIZE..=max` (just `max` when that is smaller).
pub fn next_batch_size(size: i64, took: StdDuration, target: StdDuration, max: i64) -> i64 {
    let next = if took > target {
        size / 2
    } else if took < target / 2 {
        size.saturating_mul(2)
    } else {
        size
    };
    next.clamp(MIN_BATCH_SIZE.min(max).max(1), max.max(1))
}

/// Per-table counts of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    pub user_sessions: u64,
    pub security_events: u64,
    pub login_throttle: u64,
    pub not_me_answers: u64,
}

/// The one-line JSON report the binary prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Rows deleted (in a failed table, those deleted before the failure), or in a dry run the rows that
    /// would be.
    pub deleted: TableCounts,
    /// Batches run per table (0 in a dry run).
    pub batches: TableCounts,
    /// Each table's longest batch in milliseconds, its selection and DELETE together: an upper bound on how
    /// long any cleanup statement held its locks.
    pub max_batch_ms: TableCounts,
    /// SQLite: each table's longest WAL checkpoint in milliseconds. The job checkpoints after each batch,
    /// outside it, so a checkpoint's fsync is not in `max_batch_ms`; a passive checkpoint holds no write
    /// lock. Always 0 on PostgreSQL.
    pub max_checkpoint_ms: TableCounts,
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

/// One table's run: rows deleted, batches, the longest batch, the longest checkpoint.
type TableRun = (u64, u64, StdDuration, StdDuration);

/// How long a login-throttle counter lives: its window (see `Policy::login_window`).
fn throttle_window() -> Duration {
    Duration::minutes(crate::config::defaults::LOGIN_WINDOW_MINUTES)
}

/// Counts a table's rows to delete (a dry run).
type Count<'a> = &'a dyn Fn(&mut latchkey_db::AnyConnection) -> Result<i64, DbError>;
/// Deletes one batch of at most so many of a table's rows; returns how many it deleted.
type Delete<'a> = &'a dyn Fn(&mut latchkey_db::AnyConnection, i64) -> Result<usize, DbError>;

/// One cleanup run at `now` under `policy`. Never stops at a failing table: each table's outcome is in
/// the report, and `ok` is false when any failed.
pub fn run(db: &Db, now: DateTime<Utc>, policy: &CleanupPolicy) -> CleanupReport {
    let started = Instant::now();
    let session_cutoff = Ts(now - policy.session_retention);
    let event_cutoff = Ts(now - policy.event_retention);
    let throttle_cutoff = Ts(now - throttle_window());
    // A "not me" link lives 7 days from its alert, and is answered after its alert: an answer older than
    // that guards a link that no longer works.
    let answer_cutoff = Ts(now - latchkey_auth::ALERT_TOKEN_TTL);

    let mut tables = BTreeMap::new();
    let mut clean = |table: &'static str, count: Count<'_>, delete: Delete<'_>| -> TableRun {
        let (run, outcome) = clean_table(db, policy, count, delete);
        match outcome {
            Ok(()) => tables.insert(table, "ok".to_owned()),
            Err(e) => {
                tracing::error!(table, error = %e, "cleanup of a table failed");
                tables.insert(table, format!("failed: {e}"))
            }
        };
        run
    };
    let s = clean("user_sessions", &|c| sessions::count_ended_before(c, session_cutoff), &|c, n| {
        sessions::delete_ended_before(c, session_cutoff, n)
    });
    let e = clean("security_events", &|c| events::count_before(c, event_cutoff), &|c, n| {
        events::delete_before(c, event_cutoff, n)
    });
    let t = clean("login_throttle", &|c| throttle::count_before(c, throttle_cutoff), &|c, n| {
        throttle::delete_before(c, throttle_cutoff, n)
    });
    let a = clean("not_me_answers", &|c| alerts::count_answers_before(c, answer_cutoff), &|c, n| {
        alerts::delete_answers_before(c, answer_cutoff, n)
    });
    let ms = |d: StdDuration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let counts = |f: &dyn Fn(&TableRun) -> u64| TableCounts {
        user_sessions: f(&s),
        security_events: f(&e),
        login_throttle: f(&t),
        not_me_answers: f(&a),
    };
    CleanupReport {
        deleted: counts(&|x| x.0),
        batches: counts(&|x| x.1),
        max_batch_ms: counts(&|x| ms(x.2)),
        max_checkpoint_ms: counts(&|x| ms(x.3)),
        ok: tables.values().all(|outcome| outcome == "ok"),
        tables,
        dry_run: policy.dry_run,
        duration_ms: ms(started.elapsed()),
        session_cutoff: session_cutoff.0,
        event_cutoff: event_cutoff.0,
    }
}

/// Cleans one table under `policy` (or, in a dry run, counts what it would delete): batch after batch,
/// each sized by how long the one before took. Returns the run, and the error that stopped it if one did.
fn clean_table(
    db: &Db,
    policy: &CleanupPolicy,
    count: Count<'_>,
    delete: Delete<'_>,
) -> (TableRun, Result<(), DbError>) {
    let max_batch = policy.batch_size.max(1);
    let (mut done, mut batches) = (0u64, 0u64);
    let (mut longest, mut longest_checkpoint) = (StdDuration::ZERO, StdDuration::ZERO);
    let outcome = db.conn().and_then(|mut conn| {
        if policy.dry_run {
            done = u64::try_from(count(&mut conn)?).unwrap_or(0);
            return Ok(());
        }
        // SQLite: a batch's commit would also checkpoint the WAL whenever it has grown past 1,000 pages,
        // an fsync of the database file inside the statement; checkpoint between batches instead.
        set_wal_autocheckpoint(&mut conn, false)?;
        // Start small and let quick batches double the size: a first batch at `batch_size` would
        // take as long as the backend needs for that many rows (seconds on SQLite) before any bound.
        let mut size = MIN_BATCH_SIZE.min(max_batch);
        let deleted = loop {
            let started = Instant::now();
            let n = match delete(&mut conn, size) {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            let took = started.elapsed();
            batches += 1;
            longest = longest.max(took);
            done += n as u64;
            let started = Instant::now();
            if let Err(e) = checkpoint_wal(&mut conn) {
                break Err(e);
            }
            longest_checkpoint = longest_checkpoint.max(started.elapsed());
            // A short batch means nothing else ended before the cutoff (rows another process deleted
            // meanwhile can make it short too: the next run gets what is left). Stopping here saves
            // a last selection that finds nothing, which can be a whole-table scan.
            if i64::try_from(n).unwrap_or(i64::MAX) < size {
                break Ok(());
            }
            size = next_batch_size(size, took, policy.batch_time_target, max_batch);
        };
        // The connection goes back to the pool as it came.
        set_wal_autocheckpoint(&mut conn, true)?;
        deleted
    });
    ((done, batches, longest, longest_checkpoint), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_when_slow_and_grow_back_to_the_maximum() {
        let target = StdDuration::from_millis(250);
        let ms = StdDuration::from_millis;
        assert_eq!(next_batch_size(5000, ms(2000), target, 5000), 2500, "too slow: half");
        assert_eq!(next_batch_size(2500, ms(200), target, 5000), 2500, "near the target: kept");
        assert_eq!(next_batch_size(2500, ms(40), target, 5000), 5000, "quick: double");
        assert_eq!(next_batch_size(5000, ms(1), target, 5000), 5000, "never beyond the maximum");
        assert_eq!(next_batch_size(150, ms(900), target, 5000), MIN_BATCH_SIZE, "never below the floor");
        assert_eq!(next_batch_size(3, ms(900), target, 4), 4, "a maximum below the floor is the size");
        assert_eq!(next_batch_size(1, ms(900), target, 1), 1);
    }
}
