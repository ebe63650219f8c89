//! The writer of "last used" times: the session cache queues a session's touch at most once per touch
//! interval, and a background thread writes the queue every [`TOUCH_FLUSH`], many sessions per statement.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{SessionCache, StopOnDrop};

/// How often the queued "last used" writes are made.
pub const TOUCH_FLUSH: Duration = Duration::from_secs(1);
/// Sessions written per statement.
const TOUCH_BATCH: usize = 500;

/// Writes the queued "last used" times now, in statements of many sessions each; returns how many rows
/// were written. A failure (the database is down) drops this round's writes: "last used" is advisory,
/// and the next use queues it again.
pub fn flush_touches(
    cache: &SessionCache,
    db: &latchkey_db::Db,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> usize {
    let mut due = cache.take_touches();
    if due.is_empty() {
        return 0;
    }
    due.sort_unstable();
    due.dedup();
    let written = db.conn().and_then(|mut conn| {
        let mut n = 0;
        for ids in due.chunks(TOUCH_BATCH) {
            n += latchkey_db::write_statements(&mut conn, |c| {
                latchkey_db::repo::sessions::touch_many(c, ids, latchkey_db::Ts(now), interval)
            })?;
        }
        Ok(n)
    });
    let written = written.unwrap_or_else(|e| {
        tracing::warn!(error = %e, sessions = due.len(), "could not write sessions' last use");
        0
    });
    cache.stats.touches_written.fetch_add(written as u64, Ordering::Relaxed);
    written
}

/// Starts the thread that makes the queued "last used" writes every [`TOUCH_FLUSH`]; it makes the last
/// ones and stops when the returned value is dropped.
pub fn write_touches(
    cache: Arc<SessionCache>,
    db: latchkey_db::Db,
    clock: Arc<dyn latchkey_domain::clock::Clock>,
    interval: chrono::Duration,
) -> std::io::Result<StopOnDrop> {
    let stop = StopOnDrop::default();
    let stopped = stop.flag();
    std::thread::Builder::new().name("latchkey-last-used".into()).spawn(move || {
        loop {
            let last = stopped.load(Ordering::Acquire);
            flush_touches(&cache, &db, clock.now(), interval);
            if last {
                return;
            }
            // Sleeps in short steps, so a stop is seen soon.
            let until = Instant::now() + TOUCH_FLUSH;
            while Instant::now() < until && !stopped.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })?;
    Ok(stop)
}
