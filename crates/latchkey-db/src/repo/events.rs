//! `security_events`: login history and audit trail.

use diesel::prelude::*;

use crate::connection::{AnyConnection, MultiBackend};
use crate::error::DbError;
use crate::models::EventRow;
use crate::repo::{Page, Window, delete_batch};
use crate::schema::security_events as e;
use crate::types::{Id, Ts};

/// Records an event.
pub fn insert(conn: &mut AnyConnection, event: &EventRow) -> Result<(), DbError> {
    diesel::insert_into(e::table).values(event).execute(conn)?;
    Ok(())
}

/// The user's events of the given kinds, newest first.
pub fn list_for_user(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    kinds: &[&str],
    window: Window,
) -> Result<Page<EventRow>, DbError> {
    newest_first(conn, window, || {
        e::table.filter(e::user_id.eq(Id(user_id))).filter(e::kind.eq_any(kinds.iter().copied())).into_boxed()
    })
}

/// The actions `actor_id` took as an administrator, newest first.
pub fn list_by_actor(
    conn: &mut AnyConnection,
    actor_id: uuid::Uuid,
    window: Window,
) -> Result<Page<EventRow>, DbError> {
    newest_first(conn, window, || e::table.filter(e::actor_id.eq(Id(actor_id))).into_boxed())
}

/// One page of the events `events` selects, newest first, and how many it selects in all.
fn newest_first<'a>(
    conn: &mut AnyConnection,
    window: Window,
    events: impl Fn() -> e::BoxedQuery<'a, MultiBackend>,
) -> Result<Page<EventRow>, DbError> {
    window.read(
        conn,
        |c| events().count().get_result(c),
        |c| {
            events()
                .order((e::occurred_at.desc(), e::id.desc()))
                .offset(window.offset)
                .limit(window.limit)
                .select(EventRow::as_select())
                .load(c)
        },
    )
}

/// Counts the events older than `cutoff`.
pub fn count_before(conn: &mut AnyConnection, cutoff: Ts) -> Result<i64, DbError> {
    Ok(e::table.filter(e::occurred_at.lt(cutoff)).count().get_result(conn)?)
}

/// Deletes up to `batch` events older than `cutoff`; returns how many.
pub fn delete_before(conn: &mut AnyConnection, cutoff: Ts, batch: i64) -> Result<usize, DbError> {
    delete_batch(
        conn,
        |c| e::table.filter(e::occurred_at.lt(cutoff)).select(e::id).limit(batch).load::<Id>(c),
        |c, ids| diesel::delete(e::table.filter(e::id.eq_any(ids)).filter(e::occurred_at.lt(cutoff))).execute(c),
    )
}
