//! The session cache: each node answers the authentication check of a request from the sessions (and
//! their users) it admitted before, with no database visit, and forgets them the moment they change.
//!
//! - **What is cached**: only answers that admitted a request — a live session and its active user —
//!   keyed by session id and by user id, each entry stamped with when it was read. A hit re-checks what
//!   can change with time alone (the session's expiry, the entry's age) and otherwise goes to the
//!   database, which decides refusals. Bounded in entries and bytes (`SESSION_CACHE_ENTRIES`,
//!   `SESSION_CACHE_MB`): the least useful entries go first.
//! - **Forgetting on change**: every change that can refuse or alter a cached answer is heard on every
//!   node. On PostgreSQL the database says it: triggers `pg_notify` the ids of changed sessions and users
//!   (never on a rotation or a "last used" write), and a thread per node `LISTEN`s ([`latchkey_db::listen`]).
//!   The node that made a change also forgets in-process right after its commit, so its own next answer
//!   is already right. SQLite has one server process, which forgets in-process only.
//! - **Failing closed**: on PostgreSQL answers are served only while the listener is connected and has
//!   proved it within [`DEAF_AFTER`]; otherwise every request goes to the database, until the listener
//!   listens again with an emptied cache. Entries also expire after `SESSION_CACHE_MAX_AGE_SECONDS`, a
//!   bound on anything ever missed (an operator's hand edit of a SQLite file, say).
//! - **No stale refill**: an answer read from the database is cached only if neither its session nor its
//!   user was forgotten while it was read (counters per stripe of ids, [`SessionCache::stamp`]); otherwise
//!   a read that began before a revocation committed could put the revoked session back after the
//!   revocation was heard.
//! - **"Last used"** is written at most once per `touch_interval` per session, by a background thread in
//!   one statement for many sessions ([`SessionCache::take_touches`]), never on the request's path.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use latchkey_db::listen::{Changed, Notice};
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use uuid::Uuid;

pub mod listener;
pub mod touches;

use crate::caller::Authenticated;
use crate::config::SessionCacheSettings;
use crate::views::{Session, User};

/// How often the listener proves its connection with a round trip.
pub const HEARTBEAT: Duration = Duration::from_millis(250);
/// A listener that has not proved its connection for this long is taken as deaf: answers come from the
/// database until it does. A connection that breaks is noticed at the next poll (milliseconds); this
/// bounds one that goes silent without breaking (a vanished host). Under full CPU load the heartbeat's
/// round trip was seen to take up to 400 ms here; a tighter bound turned the cache off and on again.
pub const DEAF_AFTER: Duration = Duration::from_secs(3);
/// How often the listener looks for notifications.
pub const POLL: Duration = Duration::from_millis(2);
/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(250);

/// A cached session: the view the check returned, when it was read, and when it was last used (which a hit
/// moves forward, at most once per touch interval).
#[derive(Debug)]
struct CachedSession {
    session: Session,
    read_at: DateTime<Utc>,
    /// `last_used_at` in microseconds since the epoch.
    last_used_us: AtomicI64,
    bytes: u64,
}

/// A user's live sessions as `GET /sessions/me` lists them, most recently used first, and when they were read.
#[derive(Debug)]
struct CachedList {
    sessions: Vec<Session>,
    read_at: DateTime<Utc>,
    bytes: u64,
}

/// A cached user: the view, the password hash the check carries, and when it was read.
#[derive(Debug)]
struct CachedUser {
    user: User,
    password_hash: Option<String>,
    read_at: DateTime<Utc>,
    bytes: u64,
}

/// Weighs an entry by its bytes, but never below `floor` (the byte budget over the entry budget), so one
/// weight capacity bounds both: no more than the budgeted bytes, and no more than the budgeted entries.
#[derive(Debug, Clone, Copy)]
struct Weigh {
    floor: u64,
}

/// An entry that knows its weight (computed once, when it is made).
trait Weighed {
    fn bytes(&self) -> u64;
}

impl<T: Weighed> Weighter<Uuid, Arc<T>> for Weigh {
    fn weight(&self, _: &Uuid, v: &Arc<T>) -> u64 {
        v.bytes().max(self.floor)
    }
}

macro_rules! weighed {
    ($($t:ty),*) => {
        $(impl Weighed for $t {
            fn bytes(&self) -> u64 {
                self.bytes
            }
        })*
    };
}
weighed!(CachedSession, CachedUser, CachedList);

/// Stripes of the forgetting counters: a put is spoiled only by a forgetting in its own stripes.
const STRIPES: usize = 64;

fn stripe(id: &Uuid) -> usize {
    // Random (v4) or time-ordered (v7) ids: the last bytes are random in both.
    id.as_bytes()[15] as usize % STRIPES
}

/// Where the forgetting stood for one session and user, before their answer was read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    session: u64,
    user: u64,
}

/// What a cache entry costs beyond its value: the `Arc`'s counts, the key, the table's slot and the
/// allocator's rounding (measured with `examples/session_cache_memory.rs`).
const ENTRY_OVERHEAD: u64 = 96;

/// What a string costs on the heap: its bytes, rounded up as the allocator does, plus its block's header.
fn heap(s: &str) -> u64 {
    if s.is_empty() { 0 } else { (s.len() as u64).div_ceil(16) * 16 + 16 }
}

fn heap_opt(s: &Option<String>) -> u64 {
    s.as_deref().map_or(0, heap)
}

/// What a session view costs: its fields and its strings.
fn session_bytes(s: &Session) -> u64 {
    size_of::<Session>() as u64
        + heap_opt(&s.device_name)
        + heap_opt(&s.device_id)
        + heap_opt(&s.ip_address)
        + heap_opt(&s.location_city)
        + heap_opt(&s.location_country)
        + heap_opt(&s.revoked_reason)
}

/// What a user view costs, with the password hash cached beside it.
fn user_bytes(u: &User, hash: Option<&str>) -> u64 {
    size_of::<CachedUser>() as u64
        + heap(&u.email)
        + heap(&u.first_name)
        + heap_opt(&u.last_name)
        + heap_opt(&u.phone_number)
        + heap_opt(&u.locale)
        + hash.map_or(0, heap)
        // A JSON value's tree: about three times its text.
        + u.preferences.as_ref().map_or(0, |p| 3 * p.to_string().len() as u64 + 64)
}

/// The counters `/metrics` shows.
#[derive(Debug, Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    notices: AtomicU64,
    connects: AtomicU64,
    /// The latest notification's delay from its trigger to this node, in microseconds.
    lag_us: AtomicU64,
    /// "Last used" rows written, by the writer thread or a flush on demand.
    touches_written: AtomicU64,
}

/// The session cache of one node. See the module's documentation.
pub struct SessionCache {
    sessions: Cache<Uuid, Arc<CachedSession>, Weigh>,
    users: Cache<Uuid, Arc<CachedUser>, Weigh>,
    /// By user: their live sessions (`GET /sessions/me`).
    lists: Cache<Uuid, Arc<CachedList>, Weigh>,
    enabled: bool,
    /// PostgreSQL: answers are served only while a listener hears the database.
    needs_listener: bool,
    /// The listener is connected and listening.
    listening: AtomicBool,
    /// When the listener last proved its connection, in milliseconds since `started`.
    heard_ms: AtomicU64,
    /// The listener's backend process id (0: none).
    listener_pid: AtomicI32,
    started: Instant,
    /// Moved by every forgetting of everything: see [`SessionCache::stamp`].
    epoch: AtomicU64,
    /// Moved by every forgetting of a session (user) whose id falls in the stripe.
    session_stripes: [AtomicU64; STRIPES],
    user_stripes: [AtomicU64; STRIPES],
    max_age: chrono::Duration,
    /// Sessions whose "last used" is due to be written.
    touches: Mutex<Vec<Uuid>>,
    stats: Stats,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("enabled", &self.enabled)
            .field("sessions", &self.sessions.len())
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// What the cache holds and has done since start-up, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheReport {
    pub enabled: bool,
    /// Whether answers are served from the cache right now.
    pub serving: bool,
    pub sessions: usize,
    pub users: usize,
    /// Bytes the entries hold (as weighed).
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
    /// Sessions and users forgotten, by this node's own changes and by notifications.
    pub invalidations: u64,
    /// Notifications received.
    pub notices: u64,
    /// Times the listener connected.
    pub connects: u64,
    /// The latest notification's delay from its trigger to this node, in seconds.
    pub lag_seconds: f64,
    /// How long ago the listener last proved its connection, in seconds (0 on SQLite).
    pub silence_seconds: f64,
}

impl SessionCache {
    /// A cache with these settings; on PostgreSQL (`needs_listener`) it serves nothing until a listener
    /// runs ([`SessionCache::listen`]).
    pub fn new(settings: &SessionCacheSettings, needs_listener: bool) -> SessionCache {
        let entries = settings.max_entries.max(1) as u64;
        // A third of the bytes each for sessions, users and users' session lists.
        let third = (settings.max_bytes as u64 / 3).max(1);
        let weigh = Weigh { floor: (third / entries).max(1) };
        let estimate = settings.max_entries.min(1 << 20);
        SessionCache {
            sessions: Cache::with_weighter(estimate, third, weigh),
            users: Cache::with_weighter(estimate, third, weigh),
            lists: Cache::with_weighter(estimate, third, weigh),
            enabled: settings.enabled,
            needs_listener,
            listening: AtomicBool::new(false),
            heard_ms: AtomicU64::new(0),
            listener_pid: AtomicI32::new(0),
            started: Instant::now(),
            epoch: AtomicU64::new(0),
            session_stripes: [const { AtomicU64::new(0) }; STRIPES],
            user_stripes: [const { AtomicU64::new(0) }; STRIPES],
            max_age: chrono::Duration::seconds(settings.max_age_seconds as i64),
            touches: Mutex::new(Vec::new()),
            stats: Stats::default(),
        }
    }

    /// Whether answers may be served from the cache (and read answers put into it) now.
    pub fn serving(&self) -> bool {
        if !self.enabled {
            return false;
        }
        if !self.needs_listener {
            return true;
        }
        self.listening.load(Ordering::Acquire) && self.silence() < DEAF_AFTER
    }

    fn silence(&self) -> Duration {
        let heard = Duration::from_millis(self.heard_ms.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(heard)
    }

    /// The cached answer for session `sid` of user `sub`, if the cache may serve it at `now`: the session
    /// and its user are cached, neither entry is older than the maximum age, and the session has not
    /// expired. Everything else (a refusal included) is for the database to answer. A hit that finds the
    /// session's "last used" due queues its write.
    pub fn get(
        &self,
        sid: Uuid,
        sub: Uuid,
        now: DateTime<Utc>,
        touch_interval: chrono::Duration,
    ) -> Option<Authenticated> {
        if !self.serving() {
            return None;
        }
        let found = self.sessions.get(&sid).and_then(|s| {
            let fresh = s.session.user_id == sub && s.session.expires_at > now && now - s.read_at < self.max_age;
            let u = self.users.get(&sub).filter(|u| now - u.read_at < self.max_age)?;
            fresh.then_some((s, u))
        });
        let Some((s, u)) = found else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        let mut session = s.session.clone();
        session.last_used_at = self.touched(&s, now, touch_interval);
        Some(Authenticated::new(u.user.clone(), session, u.password_hash.clone()))
    }

    /// `GET /sessions/me` from the cache: the check of session `sid` of user `sub` as [`SessionCache::get`]
    /// answers it, and the user's live sessions, if their list is cached, no older than the maximum age,
    /// holds `sid`, and none of its sessions has reached its (cached) expiry. The caller's own session is
    /// listed as the check saw it.
    pub fn get_list(
        &self,
        sid: Uuid,
        sub: Uuid,
        now: DateTime<Utc>,
        touch_interval: chrono::Duration,
    ) -> Option<(Authenticated, Vec<Session>)> {
        let list = self.lists.get(&sub).filter(|l| {
            now - l.read_at < self.max_age
                && l.sessions.iter().all(|s| s.expires_at > now)
                && l.sessions.iter().any(|s| s.id == sid)
        })?;
        let caller = self.get(sid, sub, now, touch_interval)?;
        let mut sessions = list.sessions.clone();
        if let Some(own) = sessions.iter_mut().find(|s| s.id == sid) {
            own.last_used_at = caller.session.last_used_at;
        }
        sessions.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(b.created_at.cmp(&a.created_at)));
        Some((caller, sessions))
    }

    /// The session's "last used" after this use: moved to `now` (and its write queued) when the last one is
    /// `touch_interval` old, by exactly one of the requests that find it so.
    fn touched(&self, s: &CachedSession, now: DateTime<Utc>, touch_interval: chrono::Duration) -> DateTime<Utc> {
        let last = s.last_used_us.load(Ordering::Relaxed);
        let now_us = now.timestamp_micros();
        if now_us - last < touch_interval.num_microseconds().unwrap_or(i64::MAX)
            || s.last_used_us.compare_exchange(last, now_us, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return DateTime::from_timestamp_micros(s.last_used_us.load(Ordering::Relaxed)).unwrap_or(now);
        }
        self.queue_touch(s.session.id);
        now
    }

    /// Queues a "last used" write for the session.
    pub fn queue_touch(&self, sid: Uuid) {
        self.touches.lock().unwrap_or_else(PoisonError::into_inner).push(sid);
    }

    /// The sessions whose "last used" writes are due, emptying the queue.
    /// How many "last used" rows have been written since the cache was built.
    pub fn touches_written(&self) -> u64 {
        self.stats.touches_written.load(Ordering::Relaxed)
    }

    pub fn take_touches(&self) -> Vec<Uuid> {
        std::mem::take(&mut *self.touches.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Where the forgetting stands for session `sid` of user `uid`: taken before the database read of their
    /// answer, and given back to [`SessionCache::put`], which caches the answer only if neither (nor
    /// everything) was forgotten in between.
    pub fn stamp(&self, sid: Uuid, uid: Uuid) -> Stamp {
        Stamp {
            epoch: self.epoch.load(Ordering::SeqCst),
            session: self.session_stripes[stripe(&sid)].load(Ordering::SeqCst),
            user: self.user_stripes[stripe(&uid)].load(Ordering::SeqCst),
        }
    }

    /// Caches an answer the database gave at `now`, read after [`SessionCache::stamp`] returned `stamp`.
    pub fn put(&self, stamp: Stamp, caller: &Authenticated, now: DateTime<Utc>) {
        let spoiled = || self.stamp(caller.session_id(), caller.user_id()) != stamp;
        if !self.serving() || spoiled() {
            return;
        }
        let (user, session) = (&caller.user, &caller.session);
        let session_bytes =
            ENTRY_OVERHEAD + (size_of::<CachedSession>() - size_of::<Session>()) as u64 + session_bytes(session);
        let user_bytes = ENTRY_OVERHEAD + user_bytes(user, caller.password_hash());
        self.users.insert(
            user.id,
            Arc::new(CachedUser {
                user: user.clone(),
                password_hash: caller.password_hash().map(str::to_owned),
                read_at: now,
                bytes: user_bytes,
            }),
        );
        self.sessions.insert(
            session.id,
            Arc::new(CachedSession {
                session: session.clone(),
                read_at: now,
                last_used_us: AtomicI64::new(session.last_used_at.timestamp_micros()),
                bytes: session_bytes,
            }),
        );
        // Something was forgotten while these went in: they may be what was forgotten.
        if spoiled() {
            self.sessions.remove(&session.id);
            self.users.remove(&user.id);
        }
    }

    /// Caches `GET /sessions/me`'s list of `user`'s live sessions as the database gave it at `now`, read
    /// after [`SessionCache::stamp`] returned `stamp` for the caller's session and `user`.
    pub fn put_list(&self, stamp: Stamp, sid: Uuid, user: Uuid, sessions: &[Session], now: DateTime<Utc>) {
        let spoiled = || self.stamp(sid, user) != stamp;
        if !self.serving() || spoiled() {
            return;
        }
        let bytes = ENTRY_OVERHEAD + size_of::<CachedList>() as u64 + sessions.iter().map(session_bytes).sum::<u64>();
        self.lists.insert(user, Arc::new(CachedList { sessions: sessions.to_vec(), read_at: now, bytes }));
        if spoiled() {
            self.lists.remove(&user);
        }
    }

    /// Forgets sessions of `user`: they ended, or changed in a way a cached answer must not outlive (and
    /// the user's list with them).
    pub fn forget_sessions(&self, user: Uuid, ids: &[Uuid]) {
        for id in ids {
            self.session_stripes[stripe(id)].fetch_add(1, Ordering::SeqCst);
            self.sessions.remove(id);
        }
        self.forget_lists(&[user]);
        self.stats.invalidations.fetch_add(ids.len() as u64, Ordering::Relaxed);
    }

    /// Forgets users (and so every cached session of theirs, which is served only with its user, and their
    /// lists).
    pub fn forget_users(&self, ids: &[Uuid]) {
        for id in ids {
            self.user_stripes[stripe(id)].fetch_add(1, Ordering::SeqCst);
            self.users.remove(id);
            self.lists.remove(id);
        }
        self.stats.invalidations.fetch_add(ids.len() as u64, Ordering::Relaxed);
    }

    /// Forgets users' session lists: a session was opened, renamed or moved.
    pub fn forget_lists(&self, users: &[Uuid]) {
        for id in users {
            self.user_stripes[stripe(id)].fetch_add(1, Ordering::SeqCst);
            self.lists.remove(id);
        }
    }

    /// Forgets everything (the listener lost or regained its connection; SIGHUP).
    pub fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.sessions.clear();
        self.users.clear();
        self.lists.clear();
    }

    /// What a notification says to forget.
    fn hear(&self, notice: &Notice, now: DateTime<Utc>) {
        self.stats.notices.fetch_add(1, Ordering::Relaxed);
        match notice.changed {
            Changed::Session { id, user } => self.forget_sessions(user, &[id]),
            Changed::User(id) => self.forget_users(&[id]),
            Changed::List(user) => self.forget_lists(&[user]),
        }
        let sent_us = notice.at_epoch_seconds * 1e6;
        if sent_us.is_finite() {
            let lag = (now.timestamp_micros() as f64 - sent_us).max(0.0);
            self.stats.lag_us.store(lag as u64, Ordering::Relaxed);
        }
    }

    fn heard(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.heard_ms.store(ms, Ordering::Release);
    }

    /// The PostgreSQL backend of the listening connection, while there is one (tests cut it).
    pub fn listener_pid(&self) -> Option<i32> {
        Some(self.listener_pid.load(Ordering::Acquire)).filter(|&p| p != 0)
    }

    /// The counters and sizes, for `/metrics`.
    pub fn report(&self) -> CacheReport {
        CacheReport {
            enabled: self.enabled,
            serving: self.serving(),
            sessions: self.sessions.len(),
            users: self.users.len(),
            bytes: self.sessions.weight() + self.users.weight() + self.lists.weight(),
            hits: self.stats.hits.load(Ordering::Relaxed),
            misses: self.stats.misses.load(Ordering::Relaxed),
            invalidations: self.stats.invalidations.load(Ordering::Relaxed),
            notices: self.stats.notices.load(Ordering::Relaxed),
            connects: self.stats.connects.load(Ordering::Relaxed),
            lag_seconds: self.stats.lag_us.load(Ordering::Relaxed) as f64 / 1e6,
            silence_seconds: if self.needs_listener { self.silence().as_secs_f64() } else { 0.0 },
        }
    }
}

/// Stops a background thread of the cache when dropped (with the `Services` that own it).
#[derive(Debug, Default)]
pub struct StopOnDrop(Arc<AtomicBool>);

impl StopOnDrop {
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SessionCacheSettings {
        SessionCacheSettings {
            enabled: true,
            max_entries: 1000,
            max_bytes: 1 << 20,
            max_age_seconds: 30,
            listen_url: None,
        }
    }

    fn caller(now: DateTime<Utc>) -> Authenticated {
        Authenticated::for_tests(false, now)
    }

    const MINUTE: chrono::Duration = chrono::Duration::minutes(1);

    #[test]
    fn serves_what_it_was_given_until_forgotten() {
        let cache = SessionCache::new(&settings(), false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        let (sid, uid) = (c.session_id(), c.user_id());
        assert!(cache.get(sid, uid, now, MINUTE).is_none());
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        let hit = cache.get(sid, uid, now, MINUTE).expect("a hit");
        assert_eq!(hit.user, c.user);
        assert_eq!(hit.password_hash(), Some("$argon2id$hash"));
        // Another user's id with this session: not this cache's to answer.
        assert!(cache.get(sid, Uuid::new_v4(), now, MINUTE).is_none());
        cache.forget_sessions(uid, &[sid]);
        assert!(cache.get(sid, uid, now, MINUTE).is_none());
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        cache.forget_users(&[uid]);
        assert!(cache.get(sid, uid, now, MINUTE).is_none(), "a session is served only with its user");
        let r = cache.report();
        assert_eq!((r.hits, r.misses, r.invalidations), (1, 4, 2));
    }

    #[test]
    fn an_answer_read_while_something_was_forgotten_is_not_cached() {
        let cache = SessionCache::new(&settings(), false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        let stamp = cache.stamp(c.session_id(), c.user_id());
        // A revocation lands between the database read and the put.
        cache.forget_sessions(c.user_id(), &[c.session_id()]);
        cache.put(stamp, &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none());
        // So does a change of the user, or a forgetting of everything.
        let stamp = cache.stamp(c.session_id(), c.user_id());
        cache.forget_users(&[c.user_id()]);
        cache.put(stamp, &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none());
        let stamp = cache.stamp(c.session_id(), c.user_id());
        cache.forget_all();
        cache.put(stamp, &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none());
        // Another session's forgetting in another stripe spoils nothing.
        let stamp = cache.stamp(c.session_id(), c.user_id());
        let mut other = Uuid::new_v4().into_bytes();
        other[15] = c.session_id().as_bytes()[15].wrapping_add(1);
        let mut other_user = Uuid::new_v4().into_bytes();
        other_user[15] = c.user_id().as_bytes()[15].wrapping_add(1);
        cache.forget_sessions(Uuid::from_bytes(other_user), &[Uuid::from_bytes(other)]);
        cache.put(stamp, &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_some());
    }

    #[test]
    fn expiry_and_age_send_the_check_to_the_database() {
        let cache = SessionCache::new(&settings(), false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let mut c = caller(now);
        c.session.expires_at = now + chrono::Duration::seconds(5);
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now + chrono::Duration::seconds(4), MINUTE).is_some());
        assert!(cache.get(c.session_id(), c.user_id(), now + chrono::Duration::seconds(5), MINUTE).is_none());
        let c = caller(now);
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now + chrono::Duration::seconds(29), MINUTE).is_some());
        assert!(cache.get(c.session_id(), c.user_id(), now + chrono::Duration::seconds(30), MINUTE).is_none());
    }

    #[test]
    fn last_used_is_queued_once_per_interval() {
        let cache = SessionCache::new(&SessionCacheSettings { max_age_seconds: 3600, ..settings() }, false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        let later = now + chrono::Duration::seconds(59);
        assert_eq!(cache.get(c.session_id(), c.user_id(), later, MINUTE).unwrap().session.last_used_at, now);
        assert!(cache.take_touches().is_empty());
        let due = now + chrono::Duration::seconds(61);
        for _ in 0..3 {
            assert_eq!(cache.get(c.session_id(), c.user_id(), due, MINUTE).unwrap().session.last_used_at, due);
        }
        assert_eq!(cache.take_touches(), vec![c.session_id()]);
    }

    #[test]
    fn a_list_is_served_while_it_holds_the_caller_and_nothing_in_it_expired() {
        let cache = SessionCache::new(&settings(), false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        let (sid, uid) = (c.session_id(), c.user_id());
        let mut other = c.session.clone();
        other.id = Uuid::new_v4();
        other.expires_at = now + chrono::Duration::seconds(10);
        cache.put(cache.stamp(sid, uid), &c, now);
        assert!(cache.get_list(sid, uid, now, MINUTE).is_none(), "no list yet");
        cache.put_list(cache.stamp(sid, uid), sid, uid, &[c.session.clone(), other.clone()], now);
        let (_, list) = cache.get_list(sid, uid, now, MINUTE).expect("a hit");
        assert_eq!(list.len(), 2);
        // A listed session reached its expiry: the database says what is live now.
        assert!(cache.get_list(sid, uid, now + chrono::Duration::seconds(10), MINUTE).is_none());
        // A session opened (or renamed) elsewhere; one of the user's sessions ended.
        cache.forget_lists(&[uid]);
        assert!(cache.get_list(sid, uid, now, MINUTE).is_none());
        cache.put_list(cache.stamp(sid, uid), sid, uid, &[c.session.clone(), other.clone()], now);
        cache.forget_sessions(uid, &[other.id]);
        assert!(cache.get_list(sid, uid, now, MINUTE).is_none());
        // A list without the caller's session is not the caller's answer.
        cache.put_list(cache.stamp(sid, uid), sid, uid, std::slice::from_ref(&other), now);
        assert!(cache.get_list(sid, uid, now, MINUTE).is_none());
    }

    #[test]
    fn without_a_listener_postgres_serves_nothing() {
        let cache = SessionCache::new(&settings(), true);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none());
        cache.listening.store(true, Ordering::Release);
        cache.heard();
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_some());
        cache.listening.store(false, Ordering::Release);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none(), "deaf: nothing is served");
    }

    #[test]
    fn bounded_in_entries() {
        let mut s = settings();
        s.max_entries = 100;
        let cache = SessionCache::new(&s, false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        for _ in 0..1000 {
            let c = caller(now);
            cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        }
        let r = cache.report();
        assert!(r.sessions <= 100 && r.users <= 100, "{r:?}");
        assert!(r.bytes <= 1 << 20, "{r:?}");
    }

    #[test]
    fn disabled_serves_nothing() {
        let mut s = settings();
        s.enabled = false;
        let cache = SessionCache::new(&s, false);
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let c = caller(now);
        cache.put(cache.stamp(c.session_id(), c.user_id()), &c, now);
        assert!(cache.get(c.session_id(), c.user_id(), now, MINUTE).is_none());
    }
}
