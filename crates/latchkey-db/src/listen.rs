//! PostgreSQL `LISTEN`: the connection on which a node hears that sessions or users changed.
//!
//! The triggers of migration `2026-12-07-100000_session_cache_notify` call `pg_notify` on the channel
//! [`CHANNEL`] when a change can refuse or alter a cached answer: a session ended (or its expiry moved
//! earlier, it was renamed or deleted), any column of a user changed (or the user was deleted), or a user
//! gained a session. Rotations and "last used" writes do not notify (a `NOTIFY` serializes commits). The
//! payload is `s <session id> <user id> <t>`, `u <user id> <t>` or `l <user id> <t>`, where `t` is the
//! database's clock in seconds since the epoch when the trigger ran, so a listener can tell how late it
//! hears of a change.
//!
//! The connection is a plain one of its own, never a pooled one: a pooler in transaction mode (PgBouncer)
//! cannot carry `LISTEN`, so an operator may point it elsewhere (`SESSION_CACHE_LISTEN_URL`).

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use crate::error::DbError;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "latchkey_auth_cache";

/// What changed, as a notification says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Changed {
    /// A session of `user` ended, moved its expiry earlier, was renamed or deleted.
    Session { id: uuid::Uuid, user: uuid::Uuid },
    /// A user row changed or was deleted.
    User(uuid::Uuid),
    /// A user gained a session: their list of sessions changed.
    List(uuid::Uuid),
}

/// One notification: what changed, and when the database's trigger ran (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Notice {
    pub changed: Changed,
    pub at_epoch_seconds: f64,
}

impl Notice {
    /// Reads a payload; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Notice> {
        let mut parts = payload.split(' ');
        let kind = parts.next()?;
        let mut id = || parts.next().and_then(|p| uuid::Uuid::parse_str(p).ok());
        let changed = match kind {
            "s" => Changed::Session { id: id()?, user: id()? },
            "u" => Changed::User(id()?),
            "l" => Changed::List(id()?),
            _ => return None,
        };
        let at_epoch_seconds = parts.next().and_then(|t| t.parse().ok()).unwrap_or(f64::NAN);
        Some(Notice { changed, at_epoch_seconds })
    }
}

/// A connection that listens on [`CHANNEL`].
pub struct Listener {
    conn: PgConnection,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

impl Listener {
    /// Connects to `url` and listens. The connection gets TCP keepalives and a user timeout (unless the
    /// URL sets them), so a database host that vanishes without a reset is noticed within seconds rather
    /// than the kernel's two hours.
    pub fn connect(url: &str, timeout: Duration) -> Result<Listener, DbError> {
        let mut conn =
            PgConnection::establish(&with_liveness(url, timeout)).map_err(|e| DbError::Unavailable(e.to_string()))?;
        diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
        Ok(Listener { conn })
    }

    /// The process id of the connection's backend (`pg_backend_pid()`), which `pg_stat_activity` shows.
    pub fn backend_pid(&mut self) -> Result<i32, DbError> {
        Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()"))
            .get_result(&mut self.conn)?)
    }

    /// The notifications received so far (never waits). An error means the connection is lost.
    pub fn drain(&mut self, into: &mut Vec<Notice>) -> Result<(), DbError> {
        for received in self.conn.notifications_iter() {
            let n = received?;
            match Notice::parse(&n.payload) {
                Some(notice) => into.push(notice),
                None => tracing::warn!(payload = %n.payload, "an unknown notification on the cache channel"),
            }
        }
        Ok(())
    }

    /// A round trip: proves the connection works, and (PostgreSQL sends pending notifications before it
    /// answers) that every notification committed before it was sent is now received.
    pub fn heartbeat(&mut self) -> Result<(), DbError> {
        diesel::sql_query("SELECT 1").execute(&mut self.conn)?;
        Ok(())
    }
}

/// `url` with libpq's liveness settings added where it has none: `connect_timeout`, keepalives, and
/// `tcp_user_timeout` (unacknowledged data fails the connection after `timeout`).
fn with_liveness(url: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs().max(1);
    let settings = [
        ("connect_timeout", secs.to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", secs.to_string()),
        ("keepalives_interval", "1".to_owned()),
        ("keepalives_count", "2".to_owned()),
        ("tcp_user_timeout", (secs * 1000).to_string()),
    ];
    let mut out = url.to_owned();
    for (key, value) in settings {
        if url.contains(&format!("{key}=")) {
            continue;
        }
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(&format!("{key}={value}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        let (id, user) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let n = Notice::parse(&format!("s {id} {user} 1765000000.25")).unwrap();
        assert_eq!(n.changed, Changed::Session { id, user });
        assert!((n.at_epoch_seconds - 1_765_000_000.25).abs() < 1e-6);
        assert_eq!(Notice::parse(&format!("u {id} 1")).unwrap().changed, Changed::User(id));
        assert_eq!(Notice::parse(&format!("l {id} 1")).unwrap().changed, Changed::List(id));
        assert!(Notice::parse(&format!("u {id}")).unwrap().at_epoch_seconds.is_nan());
        assert_eq!(Notice::parse(&format!("x {id} 1")), None);
        assert_eq!(Notice::parse(&format!("s {id} 1")), None, "a session's user is part of it");
        assert_eq!(Notice::parse("s not-a-uuid 1"), None);
        assert_eq!(Notice::parse(""), None);
    }

    #[test]
    fn liveness_settings_are_added_once() {
        let url = with_liveness("postgres://u@h/db", Duration::from_secs(3));
        assert_eq!(
            url,
            "postgres://u@h/db?connect_timeout=3&keepalives=1&keepalives_idle=3&keepalives_interval=1\
             &keepalives_count=2&tcp_user_timeout=3000"
        );
        let url = with_liveness("postgres://u@h/db?sslmode=disable&connect_timeout=9", Duration::from_secs(3));
        assert!(url.starts_with("postgres://u@h/db?sslmode=disable&connect_timeout=9&keepalives=1"));
        assert_eq!(url.matches("connect_timeout").count(), 1);
    }
}
