//! What new-device alerts read and write: whether an account ever logged in (`account_logins`), whether a
//! device or a country is among the account's recent successful logins (`security_events`), and which
//! alerts were answered "not me" (`not_me_answers`).

use diesel::prelude::*;

use crate::connection::{AnyConnection, MultiBackend};
use crate::error::DbError;
use crate::models::EventRow;
use crate::repo::delete_batch;
use crate::schema::{not_me_answers as a, security_events as e};
use crate::types::{Id, Ts, sql};

/// The kind of a successful login's event, as stored.
const LOGIN_SUCCEEDED: &str = "login_succeeded";

/// Inserts `(id, $2, $3, ...)` unless the primary key is taken, in one statement on both backends (the
/// enum connection cannot express `on_conflict`); returns whether the row was inserted.
fn insert_once(
    conn: &mut AnyConnection,
    sql_pg: &str,
    sql_lite: &str,
    bind: impl FnOnce(&str) -> diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery>,
) -> Result<bool, DbError> {
    let sql = match conn {
        AnyConnection::Pg(_) => sql_pg,
        AnyConnection::Sqlite(_) => sql_lite,
    };
    Ok(bind(sql).execute(conn)? == 1)
}

/// Marks the account as having logged in; `true` when this is its first login ever (the mark is new).
pub fn mark_first_login(conn: &mut AnyConnection, user_id: uuid::Uuid, now: Ts) -> Result<bool, DbError> {
    insert_once(
        conn,
        "INSERT INTO account_logins (user_id, first_login_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        "INSERT INTO account_logins (user_id, first_login_at) VALUES (?1, ?2) ON CONFLICT (user_id) DO NOTHING",
        |q| {
            diesel::sql_query(q.to_owned())
                .into_boxed()
                .bind::<sql::Uuid, _>(Id(user_id))
                .bind::<sql::TimestampUtc, _>(now)
        },
    )
}

/// The account's successful logins since `since`.
fn logins_since<'a>(user_id: uuid::Uuid, since: Ts) -> e::BoxedQuery<'a, MultiBackend> {
    e::table
        .filter(e::user_id.eq(Id(user_id)))
        .filter(e::kind.eq(LOGIN_SUCCEEDED))
        .filter(e::occurred_at.ge(since))
        .into_boxed()
}

/// Whether `logins` holds any.
fn holds_any(conn: &mut AnyConnection, logins: e::BoxedQuery<'_, MultiBackend>) -> Result<bool, DbError> {
    let found: Option<Id> = logins.select(e::id).first(conn).optional()?;
    Ok(found.is_some())
}

/// Whether the account had a successful login since `since` from this device: the same `X-Device-Id`
/// when one is given, else (no device id on either) the same device name.
pub fn known_device(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    since: Ts,
    device_id: Option<&str>,
    device_name: &str,
) -> Result<bool, DbError> {
    let logins = logins_since(user_id, since);
    let logins = match device_id {
        Some(id) => logins.filter(e::device_id.eq(id)),
        None => logins.filter(e::device_id.is_null()).filter(e::device_name.eq(device_name)),
    };
    holds_any(conn, logins)
}

/// Whether the account had a successful login since `since` from this country.
pub fn known_country(conn: &mut AnyConnection, user_id: uuid::Uuid, since: Ts, country: &str) -> Result<bool, DbError> {
    holds_any(conn, logins_since(user_id, since).filter(e::location_country.eq(country)))
}

/// Records the "not me" answer to an alert; `false` when it was answered before (the link is single use:
/// of concurrent answers exactly one inserts).
pub fn answer(
    conn: &mut AnyConnection,
    alert_id: uuid::Uuid,
    user_id: uuid::Uuid,
    session_id: uuid::Uuid,
    now: Ts,
) -> Result<bool, DbError> {
    insert_once(
        conn,
        "INSERT INTO not_me_answers (alert_id, user_id, session_id, answered_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (alert_id) DO NOTHING",
        "INSERT INTO not_me_answers (alert_id, user_id, session_id, answered_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (alert_id) DO NOTHING",
        |q| {
            diesel::sql_query(q.to_owned())
                .into_boxed()
                .bind::<sql::Uuid, _>(Id(alert_id))
                .bind::<sql::Uuid, _>(Id(user_id))
                .bind::<sql::Uuid, _>(Id(session_id))
                .bind::<sql::TimestampUtc, _>(now)
        },
    )
}

/// Whether the alert was answered already.
pub fn is_answered(conn: &mut AnyConnection, alert_id: uuid::Uuid) -> Result<bool, DbError> {
    let found: Option<Id> = a::table.find(Id(alert_id)).select(a::alert_id).first(conn).optional()?;
    Ok(found.is_some())
}

/// The alert about `session_id` of `user_id` (its `new_device_login` event), for the "not me" page.
pub fn find_alert(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    session_id: uuid::Uuid,
) -> Result<Option<EventRow>, DbError> {
    Ok(e::table
        .filter(e::user_id.eq(Id(user_id)))
        .filter(e::session_id.eq(Id(session_id)))
        .filter(e::kind.eq("new_device_login"))
        .order(e::occurred_at.desc())
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// Counts the answers recorded before `cutoff`.
pub fn count_answers_before(conn: &mut AnyConnection, cutoff: Ts) -> Result<i64, DbError> {
    Ok(a::table.filter(a::answered_at.lt(cutoff)).count().get_result(conn)?)
}

/// Deletes up to `batch` answers recorded before `cutoff` (their links have expired: the single-use record
/// is no longer needed); returns how many.
pub fn delete_answers_before(conn: &mut AnyConnection, cutoff: Ts, batch: i64) -> Result<usize, DbError> {
    delete_batch(
        conn,
        |c| a::table.filter(a::answered_at.lt(cutoff)).select(a::alert_id).limit(batch).load::<Id>(c),
        |c, ids| diesel::delete(a::table.filter(a::alert_id.eq_any(ids))).execute(c),
    )
}
