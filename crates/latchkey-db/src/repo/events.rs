//! `security_events`: login history and audit trail.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::models::EventRow;
use crate::repo::{Page, Window};
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
    let mine = || e::table.filter(e::user_id.eq(Id(user_id))).filter(e::kind.eq_any(kinds.iter().copied()));
    let total = mine().count().get_result(conn)?;
    let items = mine()
        .order((e::occurred_at.desc(), e::id.desc()))
        .offset(window.offset)
        .limit(window.limit)
        .select(EventRow::as_select())
        .load(conn)?;
    Ok(Page { items, total })
}

/// The actions `actor_id` took as an administrator, newest first.
pub fn list_by_actor(
    conn: &mut AnyConnection,
    actor_id: uuid::Uuid,
    window: Window,
) -> Result<Page<EventRow>, DbError> {
    let total = e::table.filter(e::actor_id.eq(Id(actor_id))).count().get_result(conn)?;
    let items = e::table
        .filter(e::actor_id.eq(Id(actor_id)))
        .order((e::occurred_at.desc(), e::id.desc()))
        .offset(window.offset)
        .limit(window.limit)
        .select(EventRow::as_select())
        .load(conn)?;
    Ok(Page { items, total })
}

/// Counts the events older than `cutoff`.
pub fn count_before(conn: &mut AnyConnection, cutoff: Ts) -> Result<i64, DbError> {
    Ok(e::table.filter(e::occurred_at.lt(cutoff)).count().get_result(conn)?)
}

/// Deletes up to `batch` events older than `cutoff`; returns how many.
pub fn delete_before(conn: &mut AnyConnection, cutoff: Ts, batch: i64) -> Result<usize, DbError> {
    let ids: Vec<Id> = e::table.filter(e::occurred_at.lt(cutoff)).select(e::id).limit(batch).load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(e::table.filter(e::id.eq_any(&ids)).filter(e::occurred_at.lt(cutoff))).execute(conn)?)
}
