//! `users`.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::models::{NewUser, UserChanges, UserRow};
use crate::schema::users;
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
