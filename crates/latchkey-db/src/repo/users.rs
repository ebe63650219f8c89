//! `users`.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::models::{NewUser, UserChanges, UserRow};
use crate::repo::{Page, Window};
use crate::schema::users;
use crate::search::{like_contains, lk_lower};
use crate::types::{Id, Ts};

/// Inserts a user; a taken email is `DbError::Conflict` on `ix_users_email` / `users.email`.
pub fn create(conn: &mut AnyConnection, user: &NewUser) -> Result<UserRow, DbError> {
    Ok(diesel::insert_into(users::table).values(user).returning(users::all_columns).get_result(conn)?)
}

/// The user with this id, soft-deleted or not.
pub fn find_by_id(conn: &mut AnyConnection, id: uuid::Uuid) -> Result<Option<UserRow>, DbError> {
    Ok(users::table.find(Id(id)).select(UserRow::as_select()).get_result(conn).optional()?)
}

/// The user with this (already normalised) email, soft-deleted or not.
pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<UserRow>, DbError> {
    Ok(users::table.filter(users::email.eq(email)).select(UserRow::as_select()).get_result(conn).optional()?)
}

/// Applies a partial update and returns the new row; `NotFound` when the id is unknown.
pub fn update(conn: &mut AnyConnection, id: uuid::Uuid, changes: &UserChanges) -> Result<UserRow, DbError> {
    Ok(diesel::update(users::table.find(Id(id))).set(changes).returning(users::all_columns).get_result(conn)?)
}

/// Replaces the password hash.
pub fn set_password_hash(conn: &mut AnyConnection, id: uuid::Uuid, hash: &str, now: Ts) -> Result<(), DbError> {
    let n = diesel::update(users::table.find(Id(id)))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)?;
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// Sets `is_active`.
pub fn set_active(conn: &mut AnyConnection, id: uuid::Uuid, active: bool, now: Ts) -> Result<UserRow, DbError> {
    Ok(diesel::update(users::table.find(Id(id)))
        .set((users::is_active.eq(active), users::updated_at.eq(now)))
        .returning(users::all_columns)
        .get_result(conn)?)
}

/// Marks the user deleted (soft delete); repeated calls keep the first `deleted_at`.
pub fn soft_delete(conn: &mut AnyConnection, id: uuid::Uuid, now: Ts) -> Result<(), DbError> {
    diesel::update(users::table.find(Id(id)).filter(users::deleted_at.is_null()))
        .set((users::deleted_at.eq(now), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Whether any superuser exists.
pub fn any_superuser(conn: &mut AnyConnection) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(users::table.filter(users::is_superuser.eq(true)))).get_result(conn)?)
}

/// Which users a list shows. Soft-deleted users are never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    /// A case-insensitive substring of the email, first name or last name.
    pub search: Option<String>,
}

super::sort_columns! {
    /// A column users can be sorted by: every column of `users` a client may see.
    pub enum UserSortColumn {
        Id => "id",
        Email => "email",
        FirstName => "first_name",
        LastName => "last_name",
        PhoneNumber => "phone_number",
        IsActive => "is_active",
        IsSuperuser => "is_superuser",
        Locale => "locale",
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
    }
}

/// An order for user lists; ties are broken by id so pages never overlap or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSort {
    pub column: UserSortColumn,
    pub descending: bool,
}

impl Default for UserSort {
    /// Oldest first, as the reference's admin list.
    fn default() -> Self {
        UserSort { column: UserSortColumn::CreatedAt, descending: false }
    }
}

type BoxedUsers<'a> = users::BoxedQuery<'a, crate::connection::MultiBackend>;

/// Live (not soft-deleted) users matching the filter.
fn live_filtered(filter: &UserFilter) -> BoxedUsers<'static> {
    let mut query = users::table.filter(users::deleted_at.is_null()).into_boxed();
    if let Some(active) = filter.is_active {
        query = query.filter(users::is_active.eq(active));
    }
    if let Some(superuser) = filter.is_superuser {
        query = query.filter(users::is_superuser.eq(superuser));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        // Emails are stored in lower case; names go through lk_lower(), and so does the term, so the search
        // is case-insensitive on both backends, beyond ASCII too. A leading wildcard cannot use a B-tree
        // index: this scans the live users, which stays in the low milliseconds at tens of thousands.
        let pattern = like_contains(term);
        query = query.filter(
            users::email
                .like(pattern.clone())
                .escape('\\')
                .nullable()
                .or(lk_lower(users::first_name.nullable()).like(pattern.clone()).escape('\\'))
                .or(lk_lower(users::last_name).like(pattern).escape('\\')),
        );
    }
    query
}

/// One page of live users matching `filter`, in `sort` order, and how many match in all.
pub fn list_live(
    conn: &mut AnyConnection,
    filter: &UserFilter,
    sort: UserSort,
    window: Window,
) -> Result<Page<UserRow>, DbError> {
    window.read(
        conn,
        |c| live_filtered(filter).count().get_result(c),
        |c| {
            in_order(live_filtered(filter), sort)
                .offset(window.offset)
                .limit(window.limit)
                .select(UserRow::as_select())
                .load(c)
        },
    )
}

/// `query` in `sort` order, ties broken by id so pages never overlap or skip.
fn in_order(query: BoxedUsers<'static>, sort: UserSort) -> BoxedUsers<'static> {
    // NULLs sort last in either direction on both backends (they disagree by default).
    macro_rules! by {
        ($col:expr) => {
            if sort.descending { query.order_by($col.desc()) } else { query.order_by($col.asc()) }
        };
        (nullable $col:expr) => {
            if sort.descending {
                query.order_by(($col.is_null().asc(), $col.desc()))
            } else {
                query.order_by(($col.is_null().asc(), $col.asc()))
            }
        };
    }
    let query = match sort.column {
        UserSortColumn::Id => by!(users::id),
        UserSortColumn::Email => by!(users::email),
        UserSortColumn::FirstName => by!(users::first_name),
        UserSortColumn::LastName => by!(nullable users::last_name),
        UserSortColumn::PhoneNumber => by!(nullable users::phone_number),
        UserSortColumn::IsActive => by!(users::is_active),
        UserSortColumn::IsSuperuser => by!(users::is_superuser),
        UserSortColumn::Locale => by!(nullable users::locale),
        UserSortColumn::CreatedAt => by!(users::created_at),
        UserSortColumn::UpdatedAt => by!(users::updated_at),
    };
    if sort.descending { query.then_order_by(users::id.desc()) } else { query.then_order_by(users::id.asc()) }
}

/// Locks the given users' rows until the transaction ends (PostgreSQL `FOR UPDATE`, in id order so two
/// transactions locking overlapping sets cannot deadlock) and returns them. SQLite needs no row locks:
/// a writing transaction there holds the database's write lock from its start (`BEGIN IMMEDIATE`).
pub fn lock(conn: &mut AnyConnection, ids: &[uuid::Uuid]) -> Result<Vec<UserRow>, DbError> {
    let mut ids: Vec<Id> = ids.iter().copied().map(Id).collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    macro_rules! query {
        () => {
            users::table.filter(users::id.eq_any(&ids)).order(users::id.asc()).select(UserRow::as_select())
        };
    }
    Ok(match conn {
        AnyConnection::Pg(pg) => query!().for_update().load(pg)?,
        AnyConnection::Sqlite(lite) => query!().load(lite)?,
    })
}

/// The live users among some ids.
type LiveAmong = diesel::dsl::Filter<
    diesel::dsl::Filter<users::table, diesel::dsl::EqAny<users::id, Vec<Id>>>,
    diesel::dsl::IsNull<users::deleted_at>,
>;

/// The live users among `ids`, except `except`: the rows a bulk action changes.
fn live_among(ids: &[uuid::Uuid], except: Option<uuid::Uuid>) -> LiveAmong {
    let ids: Vec<Id> = ids.iter().copied().filter(|id| Some(*id) != except).map(Id).collect();
    users::table.filter(users::id.eq_any(ids)).filter(users::deleted_at.is_null())
}

/// Sets `is_active` on the live users among `ids`, except `except`; returns the ids it changed.
pub fn set_active_many(
    conn: &mut AnyConnection,
    ids: &[uuid::Uuid],
    active: bool,
    except: Option<uuid::Uuid>,
    now: Ts,
) -> Result<Vec<uuid::Uuid>, DbError> {
    let changed: Vec<Id> = diesel::update(live_among(ids, except))
        .set((users::is_active.eq(active), users::updated_at.eq(now)))
        .returning(users::id)
        .get_results(conn)?;
    Ok(changed.into_iter().map(|id| id.0).collect())
}

/// Soft-deletes (and deactivates) the live users among `ids`, except `except`; returns the ids it deleted.
pub fn soft_delete_many(
    conn: &mut AnyConnection,
    ids: &[uuid::Uuid],
    except: Option<uuid::Uuid>,
    now: Ts,
) -> Result<Vec<uuid::Uuid>, DbError> {
    let changed: Vec<Id> = diesel::update(live_among(ids, except))
        .set((users::deleted_at.eq(now), users::is_active.eq(false), users::updated_at.eq(now)))
        .returning(users::id)
        .get_results(conn)?;
    Ok(changed.into_iter().map(|id| id.0).collect())
}

/// The growth of the user base around `since`: how many accounts (and active accounts) existed just before
/// it, and the creation time and activity flag of every account created since. Soft-deleted accounts count,
/// as in the reference's dashboard: a row is a registration whatever became of it. Three small queries,
/// whatever the size of the table.
pub fn growth_since(conn: &mut AnyConnection, since: Ts) -> Result<Growth, DbError> {
    let before = users::table.filter(users::created_at.lt(since));
    let total_before: i64 = before.count().get_result(conn)?;
    let active_before: i64 = before.filter(users::is_active.eq(true)).count().get_result(conn)?;
    let created =
        users::table.filter(users::created_at.ge(since)).select((users::created_at, users::is_active)).load(conn)?;
    Ok(Growth { total_before, active_before, created })
}

/// See [`growth_since`].
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    pub total_before: i64,
    pub active_before: i64,
    /// `(created_at, is_active)` of the users created in the period.
    pub created: Vec<(Ts, bool)>,
}

/// Replaces the password hash only if it is still `expected` (compare-and-swap); returns whether it was.
/// Under concurrency exactly one of several writers holding the same `expected` succeeds: on PostgreSQL
/// the losers wait for the winner's row lock and then re-check the condition against the new row.
pub fn swap_password_hash(
    conn: &mut AnyConnection,
    id: uuid::Uuid,
    expected: Option<&str>,
    hash: &str,
    now: Ts,
) -> Result<bool, DbError> {
    let set = (users::password_hash.eq(hash), users::updated_at.eq(now));
    let n = match expected {
        Some(old) => {
            diesel::update(users::table.find(Id(id)).filter(users::password_hash.eq(old))).set(set).execute(conn)?
        }
        None => {
            diesel::update(users::table.find(Id(id)).filter(users::password_hash.is_null())).set(set).execute(conn)?
        }
    };
    Ok(n == 1)
}
