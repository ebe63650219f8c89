//! What the session cache costs in memory: fills a cache with N sessions, each of its own user and with its
//! own one-session list (the worst case: no user shares entries), and prints the process's resident
//! memory before and after, with the cache's own weighing of it.
//!
//! `cargo run --release -p latchkey-service --example session_cache_memory -- 100000`

use chrono::{DateTime, Duration, Utc};
use latchkey_db::models::{SessionRow, UserRow};
use latchkey_db::{Id, Json, Ts};
use latchkey_service::caller::Authenticated;
use latchkey_service::config::SessionCacheSettings;
use latchkey_service::session_cache::SessionCache;

/// Resident memory of this process, in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// A caller with the field lengths of a real login, numbered `i`.
fn example(i: usize, now: DateTime<Utc>) -> Authenticated {
    let user = UserRow {
        id: Id(uuid::Uuid::new_v4()),
        email: format!("user-{i:07}@example.com"),
        password_hash: Some(
            "$argon2id$v=19$m=19456,t=2,p=1$2gngQ2Ibi+nLi8RUogOJmQ$NymS2hcoeq3qxk2sylits7NbrfCu1hupyBo1LUkho3o".into(),
        ),
        first_name: "Augusta".into(),
        last_name: Some("King".into()),
        phone_number: Some("+447700900123".into()),
        is_active: true,
        is_superuser: false,
        preferences: Some(Json(serde_json::json!({}))),
        locale: Some("en".into()),
        deleted_at: None,
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    let session = SessionRow {
        id: Id(uuid::Uuid::new_v4()),
        user_id: user.id,
        refresh_token_jti: uuid::Uuid::new_v4().to_string(),
        previous_refresh_jti: None,
        rotated_at: None,
        device_name: Some("Chrome 120 on Mac OS X".into()),
        device_id: Some(uuid::Uuid::new_v4().to_string()),
        ip_address: Some("203.0.113.77".into()),
        user_agent: None,
        last_used_at: Ts(now),
        expires_at: Ts(now + Duration::days(7)),
        absolute_expires_at: Ts(now + Duration::days(30)),
        is_active: true,
        revoked_at: None,
        revoked_reason: None,
        location_city: Some("London".into()),
        location_country: Some("United Kingdom".into()),
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    Authenticated::from_rows(user, session)
}

#[expect(clippy::print_stdout, reason = "an example reports on stdout")]
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let settings = SessionCacheSettings {
        enabled: true,
        // Bounds far away, so that nothing is evicted and the weights are the estimates themselves.
        max_entries: 100_000_000,
        max_bytes: 1 << 30,
        max_age_seconds: 30,
        listen_url: None,
    };
    let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
    let before = rss();
    let cache = SessionCache::new(&settings, false);
    for i in 0..n {
        let caller = example(i, now);
        let stamp = cache.stamp(caller.session_id(), caller.user_id());
        cache.put(stamp, &caller, now);
        cache.put_list(stamp, caller.session_id(), caller.user_id(), std::slice::from_ref(&caller.session), now);
    }
    let after = rss();
    let r = cache.report();
    println!(
        "{n} sessions (each with its own user and list): {} sessions, {} users cached; resident memory +{:.1} MiB \
         ({:.0} bytes a session); the cache weighs them at {:.1} MiB",
        r.sessions,
        r.users,
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / n as f64,
        r.bytes as f64 / 1048576.0
    );
}
