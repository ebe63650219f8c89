//! The thread that listens for changes on PostgreSQL and tells the session cache what to forget: it
//! connects, empties the cache, hears notifications and proves its connection with a heartbeat; when the
//! connection breaks (or goes silent) the cache serves nothing until it listens again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use latchkey_db::listen::{Listener, Notice};

use super::{DEAF_AFTER, HEARTBEAT, POLL, RECONNECT_AFTER, SessionCache, StopOnDrop};

/// Starts the thread that listens for changes on `url` and feeds them to `cache`; it stops when the
/// returned value is dropped. `clock` stamps when notifications arrive (their lag).
pub fn listen(
    cache: Arc<SessionCache>,
    url: String,
    clock: Arc<dyn latchkey_domain::clock::Clock>,
) -> std::io::Result<StopOnDrop> {
    let stop = StopOnDrop::default();
    let stopped = stop.flag();
    std::thread::Builder::new()
        .name("latchkey-cache-listen".into())
        .spawn(move || listen_loop(&cache, &url, clock.as_ref(), &stopped))?;
    Ok(stop)
}

fn listen_loop(cache: &SessionCache, url: &str, clock: &dyn latchkey_domain::clock::Clock, stop: &AtomicBool) {
    let mut notices = Vec::new();
    let mut failures = 0u32;
    while !stop.load(Ordering::Acquire) {
        let mut listener = match Listener::connect(url, DEAF_AFTER) {
            Ok(l) => l,
            Err(e) => {
                failures += 1;
                // Once per outage in the log, not once per try.
                if failures == 1 {
                    tracing::warn!(error = %e, "session cache: cannot listen for changes; answering from the database");
                }
                std::thread::sleep(RECONNECT_AFTER);
                continue;
            }
        };
        // Listening from here on: what changed before is unknown, so start empty.
        cache.listener_pid.store(listener.backend_pid().unwrap_or(0), Ordering::Release);
        cache.forget_all();
        cache.heard();
        cache.listening.store(true, Ordering::Release);
        cache.stats.connects.fetch_add(1, Ordering::Relaxed);
        if failures > 0 {
            tracing::info!("session cache: listening for changes again");
        }
        failures = 0;
        let error = serve_notifications(cache, &mut listener, clock, stop, &mut notices);
        cache.listening.store(false, Ordering::Release);
        cache.listener_pid.store(0, Ordering::Release);
        cache.forget_all();
        if let Err(e) = error {
            failures = 1;
            tracing::warn!(error = %e, "session cache: lost the listening connection; answering from the database");
            std::thread::sleep(RECONNECT_AFTER);
        }
    }
}

/// Hears notifications until the connection fails (or the thread is told to stop).
fn serve_notifications(
    cache: &SessionCache,
    listener: &mut Listener,
    clock: &dyn latchkey_domain::clock::Clock,
    stop: &AtomicBool,
    notices: &mut Vec<Notice>,
) -> Result<(), latchkey_db::DbError> {
    let mut last_beat = Instant::now();
    while !stop.load(Ordering::Acquire) {
        listener.drain(notices)?;
        if last_beat.elapsed() >= HEARTBEAT {
            listener.heartbeat()?;
            // What was committed before the round trip was sent is received now.
            listener.drain(notices)?;
            let silence = last_beat.elapsed();
            if silence >= DEAF_AFTER {
                tracing::warn!(
                    silent_ms = silence.as_millis() as u64,
                    "session cache: the listener was silent too long; answers came from the database meanwhile"
                );
            }
            last_beat = Instant::now();
            cache.heard();
        }
        if !notices.is_empty() {
            let now = clock.now();
            for notice in notices.drain(..) {
                cache.hear(&notice, now);
            }
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}
