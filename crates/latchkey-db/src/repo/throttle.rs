//! `login_throttle`: the per-account login counter, one row per account key and window.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::repo::delete_batch;
use crate::schema::login_throttle as t;
use crate::types::{Ts, sql};

/// The counter after a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Reservation {
    /// Attempts in the current window, this one included.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// When the current window began.
    #[diesel(sql_type = sql::TimestampUtc)]
    pub window_start: Ts,
}

/// Counts one more attempt for `key` in one atomic statement and returns the counter: a window that began
/// at or before `stale_before` is over, and the attempt starts a new one at `now`. Concurrent callers are
/// serialised by the row (PostgreSQL's upsert locks it; SQLite has one writer), so each sees a distinct
/// count and no more than the limit can pass a `attempts <= limit` check.
pub fn reserve(conn: &mut AnyConnection, key: &str, now: Ts, stale_before: Ts) -> Result<Reservation, DbError> {
    // In an upsert's SET, `login_throttle.<column>` is the row's old value on both backends.
    const SET: &str = "attempts = CASE WHEN login_throttle.window_start <= {stale} THEN 1 \
                                  ELSE login_throttle.attempts + 1 END, \
                       window_start = CASE WHEN login_throttle.window_start <= {stale} THEN {now} \
                                      ELSE login_throttle.window_start END";
    let sql = |key: &str, now: &str, stale: &str| {
        format!(
            "INSERT INTO login_throttle (account_key, window_start, attempts) VALUES ({key}, {now}, 1) \
             ON CONFLICT (account_key) DO UPDATE SET {} RETURNING attempts, window_start",
            SET.replace("{stale}", stale).replace("{now}", now)
        )
    };
    let query = match conn {
        AnyConnection::Pg(_) => sql("$1", "$2", "$3"),
        AnyConnection::Sqlite(_) => sql("?1", "?2", "?3"),
    };
    Ok(diesel::sql_query(query)
        .bind::<Text, _>(key)
        .bind::<sql::TimestampUtc, _>(now)
        .bind::<sql::TimestampUtc, _>(stale_before)
        .get_result(conn)?)
}

/// Gives back an attempt that was reserved but never verified (the hashing pool shed it), if its window
/// is still the current one.
pub fn release(conn: &mut AnyConnection, key: &str, window_start: Ts) -> Result<(), DbError> {
    diesel::update(t::table.find(key).filter(t::window_start.eq(window_start)).filter(t::attempts.gt(0)))
        .set(t::attempts.eq(t::attempts - 1))
        .execute(conn)?;
    Ok(())
}

/// Forgets the counter (a successful login resets it).
pub fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), DbError> {
    diesel::delete(t::table.find(key)).execute(conn)?;
    Ok(())
}

/// Counts the counters whose window began before `cutoff`.
pub fn count_before(conn: &mut AnyConnection, cutoff: Ts) -> Result<i64, DbError> {
    Ok(t::table.filter(t::window_start.lt(cutoff)).count().get_result(conn)?)
}

/// Deletes up to `batch` counters whose window began before `cutoff`; returns how many.
pub fn delete_before(conn: &mut AnyConnection, cutoff: Ts, batch: i64) -> Result<usize, DbError> {
    delete_batch(
        conn,
        |c| t::table.filter(t::window_start.lt(cutoff)).select(t::account_key).limit(batch).load::<String>(c),
        |c, keys| {
            diesel::delete(t::table.filter(t::account_key.eq_any(keys)).filter(t::window_start.lt(cutoff))).execute(c)
        },
    )
}
