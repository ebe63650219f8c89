//! `user_sessions`: one row per login, revoked rather than deleted, deleted later by cleanup.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::models::{NewSession, SessionRow, UserRow};
use crate::repo::{Page, Prepared, Window, delete_batch};
use crate::schema::{user_sessions as s, users};
use crate::types::{Id, Ts};

/// The columns of a [`SessionRow`], in its fields' order: what a write returns (`expiry_day`, which the
/// database generates, is not one of them).
macro_rules! row {
    () => {
        (
            s::id,
            s::user_id,
            s::refresh_token_jti,
            s::previous_refresh_jti,
            s::rotated_at,
            s::device_name,
            s::device_id,
            s::ip_address,
            s::user_agent,
            s::last_used_at,
            s::expires_at,
            s::absolute_expires_at,
            s::is_active,
            s::revoked_at,
            s::revoked_reason,
            s::location_city,
            s::location_country,
            s::created_at,
            s::updated_at,
        )
    };
}

/// A session still live at `now`: active and unexpired. (`rotate_for_user`'s SQL spells the same rule.)
fn live(now: Ts) -> diesel::dsl::And<diesel::dsl::Eq<s::is_active, bool>, diesel::dsl::Gt<s::expires_at, Ts>> {
    s::is_active.eq(true).and(s::expires_at.gt(now))
}

/// Inserts a session.
pub fn create(conn: &mut AnyConnection, session: &NewSession) -> Result<SessionRow, DbError> {
    Ok(diesel::insert_into(s::table).values(session).returning(row!()).get_result(conn)?)
}

/// The session with this id, in any state.
pub fn find_by_id(conn: &mut AnyConnection, id: uuid::Uuid) -> Result<Option<SessionRow>, DbError> {
    Ok(s::table.find(Id(id)).select(SessionRow::as_select()).get_result(conn).optional()?)
}

/// The session with this id, in any state, share-locked on PostgreSQL until the transaction ends (SQLite's
/// writing transactions are serial already). A change that re-admits its caller reads the caller's session
/// this way, after locking the user's row: a concurrent revocation of it then either waits for the change
/// to commit or is seen by it, never both missed and reported done before the change lands.
pub fn find_shared(conn: &mut AnyConnection, id: uuid::Uuid) -> Result<Option<SessionRow>, DbError> {
    macro_rules! query {
        () => {
            s::table.find(Id(id)).select(SessionRow::as_select())
        };
    }
    Ok(match conn {
        AnyConnection::Pg(pg) => query!().for_share().get_result(pg).optional()?,
        AnyConnection::Sqlite(lite) => query!().get_result(lite).optional()?,
    })
}

/// The session whose current refresh jti this is, in any state. The jti has no index (a rotation that
/// wrote an indexed column could not be a HOT update on PostgreSQL), so this reads the whole table: for
/// tests and investigations, never a request's path, which finds a session by its id and compares the jti.
pub fn find_by_jti(conn: &mut AnyConnection, jti: &str) -> Result<Option<SessionRow>, DbError> {
    Ok(s::table.filter(s::refresh_token_jti.eq(jti)).select(SessionRow::as_select()).get_result(conn).optional()?)
}

/// The auth check's one query: the session with this id together with its user, whatever their state
/// (the caller decides what an inactive user or a revoked session means).
pub fn find_with_user(
    conn: &mut AnyConnection,
    session_id: uuid::Uuid,
) -> Result<Option<(SessionRow, UserRow)>, DbError> {
    Ok(s::table
        .inner_join(users::table)
        .filter(s::id.eq(Id(session_id)))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .get_result(conn)
        .optional()?)
}

/// The user's sessions that are live (active, unexpired) or `current` (in any state), each with the user,
/// most recently used first: `GET /sessions/me`'s authentication check and list in one query.
pub fn current_and_live_with_user(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    current: uuid::Uuid,
    now: Ts,
) -> Result<Vec<(SessionRow, UserRow)>, DbError> {
    Ok(s::table
        .inner_join(users::table)
        .filter(s::user_id.eq(Id(user_id)))
        .filter(s::id.eq(Id(current)).or(live(now)))
        .order((s::last_used_at.desc(), s::created_at.desc()))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .load(conn)?)
}

/// The user's active, unexpired sessions, most recently used first.
pub fn list_active(conn: &mut AnyConnection, user_id: uuid::Uuid, now: Ts) -> Result<Vec<SessionRow>, DbError> {
    Ok(s::table
        .filter(s::user_id.eq(Id(user_id)))
        .filter(live(now))
        .order((s::last_used_at.desc(), s::created_at.desc()))
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// How many active, unexpired sessions the user has.
pub fn count_active(conn: &mut AnyConnection, user_id: uuid::Uuid, now: Ts) -> Result<i64, DbError> {
    Ok(s::table.filter(s::user_id.eq(Id(user_id))).filter(live(now)).count().get_result(conn)?)
}

/// What a refresh presents and writes.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    pub session_id: uuid::Uuid,
    /// The user the refresh token names.
    pub user_id: uuid::Uuid,
    pub presented_jti: &'a str,
    pub new_jti: &'a str,
    /// The new expiry before the session's absolute expiry caps it.
    pub refresh_until: Ts,
    pub now: Ts,
    /// Where the refresh comes from. When it is known and differs from the session's `ip_address`, the
    /// session's `ip_address`, `location_city` and `location_country` become these; otherwise they stay.
    pub client: Client<'a>,
}

/// A client's address and where it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Client<'a> {
    pub ip_address: Option<&'a str>,
    pub location_city: Option<&'a str>,
    pub location_country: Option<&'a str>,
}

/// The refresh's compare-and-swap, in one statement: swaps the refresh jti only while the session belongs
/// to `user_id`, is active, unexpired and still holds `presented_jti`, and its user is active and not
/// deleted — so two concurrent refreshes with one token cannot both win. The new expiry is
/// `refresh_until`, capped by the session's absolute expiry. A refresh from another address moves the
/// session's address and location in the same statement. `None` when it lost (the caller works out why).
pub fn rotate(conn: &mut AnyConnection, r: &Rotation<'_>) -> Result<Option<SessionRow>, DbError> {
    let user_may_act = diesel::dsl::exists(
        users::table
            .filter(users::id.eq(Id(r.user_id)))
            .filter(users::is_active.eq(true))
            .filter(users::deleted_at.is_null()),
    );
    let capped = diesel::dsl::case_when(s::absolute_expires_at.lt(r.refresh_until), s::absolute_expires_at)
        .otherwise(r.refresh_until);
    // The same rule as `rotate_for_user`'s SQL: every right-hand side reads the row as it was.
    let ip = || r.client.ip_address.into_sql::<Nullable<Text>>();
    let moved = || ip().is_not_null().and(s::ip_address.is_null().or(s::ip_address.ne(ip())));
    macro_rules! follow {
        ($value:expr, $column:expr) => {
            diesel::dsl::case_when(moved(), $value.into_sql::<Nullable<Text>>()).otherwise($column)
        };
    }
    let statement = diesel::update(
        s::table
            .filter(s::id.eq(Id(r.session_id)))
            .filter(s::user_id.eq(Id(r.user_id)))
            .filter(s::refresh_token_jti.eq(r.presented_jti))
            .filter(live(r.now))
            .filter(user_may_act),
    )
    .set((
        s::refresh_token_jti.eq(r.new_jti),
        s::previous_refresh_jti.eq(r.presented_jti),
        s::rotated_at.eq(r.now),
        s::expires_at.eq(capped),
        s::last_used_at.eq(r.now),
        s::updated_at.eq(r.now),
        s::ip_address.eq(follow!(r.client.ip_address, s::ip_address)),
        s::location_city.eq(follow!(r.client.location_city, s::location_city)),
        s::location_country.eq(follow!(r.client.location_country, s::location_country)),
    ))
    .returning(row!());
    Ok(Prepared(statement).get_result(conn).optional()?)
}

/// A won rotation: the session's new expiry and its user, as the new tokens need them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotated {
    pub expires_at: Ts,
    pub user: UserRow,
}

/// [`rotate`] and a read of the session's user. On PostgreSQL in one statement, the compare-and-swap with
/// the same conditions (`UPDATE … FROM users … RETURNING` the user): one round trip instead of two. SQLite's
/// `RETURNING` cannot name another table, so there it is [`rotate`], then the read.
pub fn rotate_for_user(conn: &mut AnyConnection, r: &Rotation<'_>) -> Result<Option<Rotated>, DbError> {
    let AnyConnection::Pg(pg) = conn else {
        let Some(session) = rotate(conn, r)? else { return Ok(None) };
        let user = crate::repo::users::find_by_id(conn, r.user_id)?;
        return Ok(user.map(|user| Rotated { expires_at: session.expires_at, user }));
    };
    use crate::types::sql::{TimestampUtc, Uuid};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        user: UserRow,
        #[diesel(sql_type = TimestampUtc)]
        session_expires_at: Ts,
    }
    let statement = diesel::sql_query(
        "UPDATE user_sessions AS s \
         SET refresh_token_jti = $1, previous_refresh_jti = $2, rotated_at = $3, \
         expires_at = LEAST(s.absolute_expires_at, $4), last_used_at = $3, updated_at = $3, \
         ip_address = CASE WHEN $7 IS NOT NULL AND s.ip_address IS DISTINCT FROM $7 THEN $7 ELSE s.ip_address END, \
         location_city = CASE WHEN $7 IS NOT NULL AND s.ip_address IS DISTINCT FROM $7 THEN $8 ELSE s.location_city END, \
         location_country = CASE WHEN $7 IS NOT NULL AND s.ip_address IS DISTINCT FROM $7 THEN $9 ELSE s.location_country END \
         FROM users AS u \
         WHERE s.id = $5 AND s.user_id = $6 AND s.refresh_token_jti = $2 AND s.is_active AND s.expires_at > $3 \
         AND u.id = s.user_id AND u.is_active AND u.deleted_at IS NULL \
         RETURNING u.*, s.expires_at AS session_expires_at",
    )
    .bind::<Text, _>(r.new_jti)
    .bind::<Text, _>(r.presented_jti)
    .bind::<TimestampUtc, _>(r.now)
    .bind::<TimestampUtc, _>(r.refresh_until)
    .bind::<Uuid, _>(Id(r.session_id))
    .bind::<Uuid, _>(Id(r.user_id))
    .bind::<Nullable<Text>, _>(r.client.ip_address)
    .bind::<Nullable<Text>, _>(r.client.location_city)
    .bind::<Nullable<Text>, _>(r.client.location_country);
    let row: Option<Row> = Prepared(statement).get_result(pg).optional()?;
    Ok(row.map(|row| Rotated { expires_at: row.session_expires_at, user: row.user }))
}

/// Revokes one session if it is still active; returns whether it was.
pub fn revoke(conn: &mut AnyConnection, id: uuid::Uuid, reason: &str, now: Ts) -> Result<bool, DbError> {
    let n = diesel::update(s::table.find(Id(id)).filter(s::is_active.eq(true)))
        .set((s::is_active.eq(false), s::revoked_at.eq(now), s::revoked_reason.eq(reason), s::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n > 0)
}

/// Revokes every active session of the user, or every one but `keep`; returns how many.
pub fn revoke_all(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    keep: Option<uuid::Uuid>,
    reason: &str,
    now: Ts,
) -> Result<usize, DbError> {
    let set = (s::is_active.eq(false), s::revoked_at.eq(now), s::revoked_reason.eq(reason), s::updated_at.eq(now));
    let mine = s::table.filter(s::user_id.eq(Id(user_id))).filter(s::is_active.eq(true));
    Ok(match keep {
        Some(keep) => diesel::update(mine.filter(s::id.ne(Id(keep)))).set(set).execute(conn)?,
        None => diesel::update(mine).set(set).execute(conn)?,
    })
}

/// Revokes the user's least recently used active sessions so that at most `keep` remain; returns the
/// revoked ids.
pub fn evict_least_recently_used(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    keep: usize,
    reason: &str,
    now: Ts,
) -> Result<Vec<uuid::Uuid>, DbError> {
    let active = list_active(conn, user_id, now)?;
    let victims: Vec<uuid::Uuid> = active.iter().skip(keep).map(|row| row.id.0).collect();
    for id in &victims {
        revoke(conn, *id, reason, now)?;
    }
    Ok(victims)
}

/// Sets `last_used_at = now` unless it was set less than `min_interval` ago: authenticated requests keep
/// "last active" true without a write per request.
pub fn touch(
    conn: &mut AnyConnection,
    id: uuid::Uuid,
    now: Ts,
    min_interval: chrono::Duration,
) -> Result<bool, DbError> {
    let threshold = Ts(now.0 - min_interval);
    let statement =
        diesel::update(s::table.find(Id(id)).filter(s::last_used_at.lt(threshold))).set(s::last_used_at.eq(now));
    let n = Prepared(statement).execute(conn)?;
    Ok(n > 0)
}

/// [`touch`] for many sessions in one statement (the coalesced "last used" writes of the session cache);
/// returns how many rows it wrote.
pub fn touch_many(
    conn: &mut AnyConnection,
    ids: &[uuid::Uuid],
    now: Ts,
    min_interval: chrono::Duration,
) -> Result<usize, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let threshold = Ts(now.0 - min_interval);
    let ids: Vec<Id> = ids.iter().copied().map(Id).collect();
    Ok(diesel::update(s::table.filter(s::id.eq_any(ids)).filter(s::last_used_at.lt(threshold)))
        .set(s::last_used_at.eq(now))
        .execute(conn)?)
}

/// Renames the session's device while the session is live (active and unexpired); `None` when it has
/// ended. The condition is part of the update, so a revocation that lands first always wins.
pub fn rename(
    conn: &mut AnyConnection,
    id: uuid::Uuid,
    device_name: &str,
    now: Ts,
) -> Result<Option<SessionRow>, DbError> {
    Ok(diesel::update(s::table.find(Id(id)).filter(live(now)))
        .set((s::device_name.eq(device_name), s::updated_at.eq(now)))
        .returning(row!())
        .get_result(conn)
        .optional()?)
}

/// "Ended before `cutoff`": expired, revoked, or (rows without `revoked_at`, e.g. imported from the
/// reference) deactivated, before the cutoff — whatever `is_active` says.
///
/// No index names a column that a rotation writes (see migration `2026-12-07-090000_hot_rotations`), so
/// each arm reaches its rows through an index on a column rotations leave alone: the expired ones through
/// `expiry_day` (the midnight UTC at or before `expires_at`, so `expires_at < cutoff` implies
/// `expiry_day < cutoff`: the extra condition changes no answer, it narrows the index range), the revoked
/// ones through `revoked_at`, the imported ones through the partial index on `NOT is_active AND revoked_at
/// IS NULL` (written as literals, not bound, so that PostgreSQL's generic plans can prove that index
/// applies), keyed by `created_at`: a row is updated after it is created, so `updated_at < cutoff`
/// implies `created_at < cutoff`, which narrows that index to the rows created before the cutoff (a row
/// whose `updated_at` were earlier than its `created_at` would wait until its `created_at` passed too).
macro_rules! ended_before {
    ($cutoff:expr) => {{
        let cutoff: Ts = $cutoff;
        s::expiry_day.lt(cutoff).and(s::expires_at.lt(cutoff)).nullable().or(s::revoked_at.lt(cutoff)).or(
            diesel::dsl::not(s::is_active)
                .and(s::revoked_at.is_null())
                .and(s::created_at.lt(cutoff))
                .and(s::updated_at.lt(cutoff))
                .nullable(),
        )
    }};
}

/// Counts the sessions that ended before `cutoff`.
pub fn count_ended_before(conn: &mut AnyConnection, cutoff: Ts) -> Result<i64, DbError> {
    Ok(s::table.filter(ended_before!(cutoff)).count().get_result(conn)?)
}

/// Deletes up to `batch` sessions that ended before `cutoff`; returns how many. Each batch is short, so
/// writers are never held up for long.
pub fn delete_ended_before(conn: &mut AnyConnection, cutoff: Ts, batch: i64) -> Result<usize, DbError> {
    // Select a batch of ids, then delete those (the filter again, so a row can only go if it still ended).
    delete_batch(
        conn,
        |c| s::table.filter(ended_before!(cutoff)).select(s::id).limit(batch).load::<Id>(c),
        |c, ids| diesel::delete(s::table.filter(s::id.eq_any(ids)).filter(ended_before!(cutoff))).execute(c),
    )
}

/// Deletes the user's sessions that ended before `cutoff`; returns how many.
pub fn delete_ended_for_user(conn: &mut AnyConnection, user_id: uuid::Uuid, cutoff: Ts) -> Result<usize, DbError> {
    Ok(diesel::delete(s::table.filter(s::user_id.eq(Id(user_id))).filter(ended_before!(cutoff))).execute(conn)?)
}

/// Sessions across all users with their users, most recently used first: only the active, unexpired ones,
/// or (with `only_active` false) every session in any state.
pub fn list_all(
    conn: &mut AnyConnection,
    only_active: bool,
    now: Ts,
    window: Window,
) -> Result<Page<(SessionRow, UserRow)>, DbError> {
    let count = |c: &mut AnyConnection| {
        if only_active { s::table.filter(live(now)).count().get_result(c) } else { s::table.count().get_result(c) }
    };
    window.read(conn, count, |c| {
        let mut query = s::table.inner_join(users::table).into_boxed();
        if only_active {
            query = query.filter(live(now));
        }
        query
            .order((s::last_used_at.desc(), s::id.desc()))
            .offset(window.offset)
            .limit(window.limit)
            .select((SessionRow::as_select(), UserRow::as_select()))
            .load(c)
    })
}

/// One page of the user's active, unexpired sessions, most recently used first.
pub fn page_active(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    now: Ts,
    window: Window,
) -> Result<Page<SessionRow>, DbError> {
    window.read(
        conn,
        |c| count_active(c, user_id, now),
        |c| {
            s::table
                .filter(s::user_id.eq(Id(user_id)))
                .filter(live(now))
                .order((s::last_used_at.desc(), s::created_at.desc(), s::id.desc()))
                .offset(window.offset)
                .limit(window.limit)
                .select(SessionRow::as_select())
                .load(c)
        },
    )
}

/// Revokes every active session of these users; returns `(user_id, how many)` for each user who had any.
pub fn revoke_all_of(
    conn: &mut AnyConnection,
    user_ids: &[uuid::Uuid],
    reason: &str,
    now: Ts,
) -> Result<Vec<(uuid::Uuid, usize)>, DbError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Id> = user_ids.iter().copied().map(Id).collect();
    let owners: Vec<Id> = diesel::update(s::table.filter(s::user_id.eq_any(ids)).filter(s::is_active.eq(true)))
        .set((s::is_active.eq(false), s::revoked_at.eq(now), s::revoked_reason.eq(reason), s::updated_at.eq(now)))
        .returning(s::user_id)
        .get_results(conn)?;
    let mut counts: Vec<(uuid::Uuid, usize)> = Vec::new();
    for owner in owners {
        match counts.iter_mut().find(|(id, _)| *id == owner.0) {
            Some((_, n)) => *n += 1,
            None => counts.push((owner.0, 1)),
        }
    }
    Ok(counts)
}
