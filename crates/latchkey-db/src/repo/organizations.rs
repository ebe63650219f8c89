//! `organizations` and `user_organizations`: organizations, and who belongs to them in which role.
//!
//! Organizations are deleted for real (memberships go with them through `ON DELETE CASCADE`); memberships
//! are only ever deactivated ("soft-removed") and reactivated. Soft-deleted users are left out of member
//! lists and member counts, as they are left out of every other list.

use std::collections::HashMap;

use diesel::prelude::*;
use latchkey_domain::Role;

use crate::connection::{AnyConnection, MultiBackend};
use crate::error::DbError;
use crate::models::{MembershipRow, NewOrg, OrgChanges, OrgRow};
use crate::repo::{Page, Window};
use crate::schema::{organizations as o, user_organizations as m, users as u};
use crate::search::{like_contains, lk_lower};
use crate::types::{Id, Ts};

/// Inserts an organization; a taken slug is `DbError::Conflict` on `ix_organizations_slug` /
/// `organizations.slug` (see [`is_slug_conflict`]).
pub fn create(conn: &mut AnyConnection, org: &NewOrg) -> Result<OrgRow, DbError> {
    Ok(diesel::insert_into(o::table).values(org).returning(o::all_columns).get_result(conn)?)
}

/// True when a write failed because another organization holds the slug. The unique index decides, so
/// two concurrent writers of one slug cannot both win.
pub fn is_slug_conflict(e: &DbError) -> bool {
    e.is_conflict_on("ix_organizations_slug") || e.is_conflict_on("organizations.slug")
}

/// The organization with this id.
pub fn find_by_id(conn: &mut AnyConnection, id: uuid::Uuid) -> Result<Option<OrgRow>, DbError> {
    Ok(o::table.find(Id(id)).select(OrgRow::as_select()).get_result(conn).optional()?)
}

/// Applies a partial update and returns the new row; `NotFound` when the id is unknown, a slug conflict
/// as in [`create`].
pub fn update(conn: &mut AnyConnection, id: uuid::Uuid, changes: &OrgChanges) -> Result<OrgRow, DbError> {
    Ok(diesel::update(o::table.find(Id(id))).set(changes).returning(o::all_columns).get_result(conn)?)
}

/// Deletes the organization and (by cascade) its memberships; returns whether it existed.
pub fn delete(conn: &mut AnyConnection, id: uuid::Uuid) -> Result<bool, DbError> {
    Ok(diesel::delete(o::table.find(Id(id))).execute(conn)? > 0)
}

super::sort_columns! {
    /// The columns an organization list can be ordered by.
    pub enum OrgSortColumn {
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
        Name => "name",
        Slug => "slug",
    }
}

/// Which organizations a list shows, and in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgFilter<'a> {
    /// Only active (`Some(true)`) or inactive (`Some(false)`) organizations.
    pub is_active: Option<bool>,
    /// A case-insensitive substring of the name, slug or description; `%` and `_` match themselves.
    pub search: Option<&'a str>,
    pub sort: OrgSortColumn,
    pub descending: bool,
}

impl Default for OrgFilter<'_> {
    /// Every organization, newest first (the reference's order).
    fn default() -> Self {
        OrgFilter { is_active: None, search: None, sort: OrgSortColumn::CreatedAt, descending: true }
    }
}

fn filtered<'a>(filter: &OrgFilter<'_>) -> o::BoxedQuery<'a, MultiBackend> {
    let mut query = o::table.into_boxed();
    if let Some(active) = filter.is_active {
        query = query.filter(o::is_active.eq(active));
    }
    if let Some(term) = filter.search {
        let pattern = like_contains(term);
        query = query.filter(
            lk_lower(o::name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lk_lower(o::slug.nullable()).like(pattern.clone()).escape('\\'))
                .or(lk_lower(o::description).like(pattern).escape('\\')),
        );
    }
    query
}

/// One page of organizations; ties in the sort column are broken by id, so pages never overlap.
pub fn list(conn: &mut AnyConnection, filter: &OrgFilter<'_>, window: Window) -> Result<Page<OrgRow>, DbError> {
    window.read(
        conn,
        |c| filtered(filter).count().get_result(c),
        |c| {
            let query = filtered(filter);
            let query = match (filter.sort, filter.descending) {
                (OrgSortColumn::CreatedAt, false) => query.order((o::created_at.asc(), o::id.asc())),
                (OrgSortColumn::CreatedAt, true) => query.order((o::created_at.desc(), o::id.desc())),
                (OrgSortColumn::UpdatedAt, false) => query.order((o::updated_at.asc(), o::id.asc())),
                (OrgSortColumn::UpdatedAt, true) => query.order((o::updated_at.desc(), o::id.desc())),
                (OrgSortColumn::Name, false) => query.order((o::name.asc(), o::id.asc())),
                (OrgSortColumn::Name, true) => query.order((o::name.desc(), o::id.desc())),
                (OrgSortColumn::Slug, false) => query.order(o::slug.asc()),
                (OrgSortColumn::Slug, true) => query.order(o::slug.desc()),
            };
            query.offset(window.offset).limit(window.limit).select(OrgRow::as_select()).load(c)
        },
    )
}

/// The number of active members of each of `org_ids` (soft-deleted users not counted), in one grouped
/// query. Organizations without members are absent from the map.
pub fn member_counts(conn: &mut AnyConnection, org_ids: &[uuid::Uuid]) -> Result<HashMap<uuid::Uuid, i64>, DbError> {
    if org_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Id> = org_ids.iter().copied().map(Id).collect();
    let rows: Vec<(Id, i64)> = m::table
        .inner_join(u::table)
        .filter(m::organization_id.eq_any(&ids))
        .filter(m::is_active.eq(true))
        .filter(u::deleted_at.is_null())
        .group_by(m::organization_id)
        .select((m::organization_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, n)| (id.0, n)).collect())
}

/// The organizations the user belongs to, whose membership is active (`true`) or removed (`false`),
/// whatever the organization's own state; ordered by name.
pub fn list_for_member(
    conn: &mut AnyConnection,
    user_id: uuid::Uuid,
    membership_active: bool,
) -> Result<Vec<OrgRow>, DbError> {
    Ok(o::table
        .inner_join(m::table)
        .filter(m::user_id.eq(Id(user_id)))
        .filter(m::is_active.eq(membership_active))
        .order((o::name.asc(), o::id.asc()))
        .select(OrgRow::as_select())
        .load(conn)?)
}

/// The user's membership of the organization, active or not.
pub fn membership(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
) -> Result<Option<MembershipRow>, DbError> {
    Ok(m::table.find((Id(user_id), Id(org_id))).select(MembershipRow::as_select()).get_result(conn).optional()?)
}

/// The user's role in the organization if their membership is active; `None` for non-members and
/// removed members. One primary-key lookup: this is every organization route's permission check.
pub fn active_role(conn: &mut AnyConnection, org_id: uuid::Uuid, user_id: uuid::Uuid) -> Result<Option<Role>, DbError> {
    role_of(conn, org_id, user_id, false)
}

/// [`active_role`], with the membership row share-locked on PostgreSQL until the transaction ends: a
/// change made on the strength of that role commits before a concurrent removal or role change of the
/// membership, or sees it.
pub fn active_role_shared(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
) -> Result<Option<Role>, DbError> {
    role_of(conn, org_id, user_id, true)
}

fn role_of(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
    shared: bool,
) -> Result<Option<Role>, DbError> {
    macro_rules! query {
        () => {
            m::table.find((Id(user_id), Id(org_id))).filter(m::is_active.eq(true)).select(m::role)
        };
    }
    let role: Option<String> = match conn {
        AnyConnection::Pg(pg) if shared => query!().for_share().get_result(pg).optional()?,
        _ => query!().get_result(conn).optional()?,
    };
    role.map(|r| {
        r.parse::<Role>().map_err(|_| {
            DbError::Other(diesel::result::Error::DeserializationError(
                format!("unknown organization role '{r}'").into(),
            ))
        })
    })
    .transpose()
}

/// A member as a member list shows them: the user's name and email with the membership's role, state and
/// start (`joined_at`).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct MemberRow {
    pub user_id: Id,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub joined_at: Ts,
}

/// One page of the organization's members, newest membership first. `is_active` filters on the
/// membership (`None`: all of them). Soft-deleted users are left out.
pub fn list_members(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    is_active: Option<bool>,
    window: Window,
) -> Result<Page<MemberRow>, DbError> {
    let base = || {
        let mut q = m::table
            .inner_join(u::table)
            .filter(m::organization_id.eq(Id(org_id)))
            .filter(u::deleted_at.is_null())
            .into_boxed::<MultiBackend>();
        if let Some(active) = is_active {
            q = q.filter(m::is_active.eq(active));
        }
        q
    };
    window.read(
        conn,
        |c| base().count().get_result(c),
        |c| {
            base()
                .order((m::created_at.desc(), m::user_id.desc()))
                .offset(window.offset)
                .limit(window.limit)
                .select((m::user_id, u::email, u::first_name, u::last_name, m::role, m::is_active, m::created_at))
                .load(c)
        },
    )
}

/// What [`add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new membership.
    Added,
    /// A removed membership came back, with the new role.
    Reactivated,
}

/// Makes the user an active member with `role`: reactivates a removed membership (its `created_at`, the
/// "joined" date, stays) or inserts a new one. An active membership is `DbError::Conflict` — from the
/// primary key, so two concurrent adds of one user cannot both succeed (see [`is_member_conflict`]).
/// On PostgreSQL a conflict aborts the surrounding transaction: make this the transaction's last write.
pub fn add_member(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
    role: Role,
    now: Ts,
) -> Result<AddOutcome, DbError> {
    let reactivated = diesel::update(m::table.find((Id(user_id), Id(org_id))).filter(m::is_active.eq(false)))
        .set((m::is_active.eq(true), m::role.eq(role.as_str()), m::updated_at.eq(now)))
        .execute(conn)?;
    if reactivated > 0 {
        return Ok(AddOutcome::Reactivated);
    }
    let row = MembershipRow {
        user_id: Id(user_id),
        organization_id: Id(org_id),
        role: role.as_str().to_owned(),
        is_active: true,
        custom_permissions: None,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(m::table).values(&row).execute(conn)?;
    Ok(AddOutcome::Added)
}

/// True when [`add_member`] failed because the user is already an active member (the membership's
/// primary key).
pub fn is_member_conflict(e: &DbError) -> bool {
    // PostgreSQL names the constraint; SQLite names the columns. A foreign-key failure (unknown user or
    // organization) must not read as "already a member".
    e.is_conflict_on("user_organizations_pkey") || e.is_conflict_on("UNIQUE constraint failed: user_organizations.")
}

/// What [`remove_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The active membership is now removed.
    Removed,
    /// It had been removed before; nothing changed.
    AlreadyRemoved,
    /// There is no membership at all.
    NotMember,
}

/// Removes (deactivates) the user's membership.
pub fn remove_member(
    conn: &mut AnyConnection,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
    now: Ts,
) -> Result<RemoveOutcome, DbError> {
    let n = diesel::update(m::table.find((Id(user_id), Id(org_id))).filter(m::is_active.eq(true)))
        .set((m::is_active.eq(false), m::updated_at.eq(now)))
        .execute(conn)?;
    if n > 0 {
        return Ok(RemoveOutcome::Removed);
    }
    Ok(if membership(conn, org_id, user_id)?.is_some() {
        RemoveOutcome::AlreadyRemoved
    } else {
        RemoveOutcome::NotMember
    })
}
