//! Managing other people's accounts and sessions: the `/users/{id}` routes and the admin API's users,
//! sessions and statistics.
//!
//! Every change runs in one transaction that first re-reads the acting administrator and the target users
//! under row locks (PostgreSQL `FOR UPDATE`, in id order; SQLite's writing transactions are serial), so the
//! checks made there hold until the change commits: an administrator deactivated a moment ago can no longer
//! act, and two administrators deactivating each other cannot both succeed. Each change also records who
//! did what to whom in the audit trail ([`crate::audit`]), in the same transaction.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use latchkey_db::models::{NewUser, SessionRow, UserChanges, UserRow};
use latchkey_db::repo::users::{UserFilter, UserSort, UserSortColumn};
use latchkey_db::repo::{sessions, stats, users};
use latchkey_db::{AnyConnection, DbError, Id, Json, Ts, write_transaction};
use latchkey_domain::list::{ListQuery, PageRequest, Sort, SortOrder};
use latchkey_domain::{Email, RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::audit::Audit;
use crate::auth::Authenticated;
use crate::authz::require_superuser;
use crate::caller::{Caller, Superuser, as_superuser};
use crate::error::ServiceError;
use crate::services::Services;
use crate::user_fields::UserFields;
use crate::users::UserUpdate;
use crate::views::{AdminSession, Page, Session, User};

/// Messages clients see.
pub mod messages {
    pub use crate::authz::{NOT_ENOUGH_PERMISSIONS, SUPERUSER_REQUIRED};
    pub const CANNOT_VIEW: &str = "Not enough permissions to view this user";
    pub const CANNOT_UPDATE: &str = "Not enough permissions to update this user";
    pub const CANNOT_DELETE_SELF: &str = "Cannot delete your own account";
    pub const CANNOT_DEACTIVATE_SELF: &str = "Cannot deactivate your own account";
}

/// 404 for a user id.
fn user_not_found(id: uuid::Uuid) -> ServiceError {
    ServiceError::NotFound(format!("User {id} not found"))
}

/// The one locked target of an action, from what [`Caller::readmit_with`] locked; 404 when it does not exist.
fn the_target(rows: Vec<UserRow>, id: uuid::Uuid) -> Result<UserRow, ServiceError> {
    rows.into_iter().find(|u| u.id.0 == id).ok_or_else(|| user_not_found(id))
}

/// Ends every session of `targets` and records, for each user who had any, a `session_revoked` event that
/// shows in their history. Returns how many sessions ended in all.
fn end_sessions(
    c: &mut AnyConnection,
    admin: &Superuser<'_>,
    targets: &[uuid::Uuid],
    reason: RevokeReason,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let ended = sessions::revoke_all_of(c, targets, reason.as_str(), Ts(now))?;
    let mut total = 0;
    for (user_id, n) in ended {
        total += n;
        Audit::by(admin).user(user_id).record(
            c,
            now,
            SecurityEventKind::SessionRevoked,
            Some(json!({"reason": reason.as_str(), "sessions": n})),
        )?;
    }
    // Counted inside the admin action's transaction (its last step in practice): a rollback after this
    // point would over-count.
    crate::counters::sessions_revoked(reason.as_str(), total);
    Ok(total)
}

// --- Lists and reads ---------------------------------------------------------------------------------

/// The columns user lists sort by (`sort_by`); anything else is refused before it gets here.
pub const USER_SORT_COLUMNS: &[&str] = &[
    "id",
    "email",
    "first_name",
    "last_name",
    "phone_number",
    "is_active",
    "is_superuser",
    "locale",
    "created_at",
    "updated_at",
];

/// `GET /users` and `GET /admin/users`: one page of live users, filtered by `is_active` / `is_superuser`,
/// searched by `search`, oldest first unless sorted otherwise. Superusers only.
pub fn list_users(
    svc: &Services,
    door: &Authenticated,
    via: Via,
    query: &ListQuery,
) -> Result<Page<User>, ServiceError> {
    let filter = UserFilter {
        is_active: query.filter("is_active"),
        is_superuser: query.filter("is_superuser"),
        search: query.search.clone(),
    };
    let sort = query.sort_or(Sort { column: "created_at", order: SortOrder::Asc });
    let column = UserSortColumn::parse(sort.column)
        .ok_or_else(|| ServiceError::Internal(format!("unsortable column {}", sort.column)))?;
    let sort = UserSort { column, descending: sort.order.is_desc() };
    as_superuser(svc, door, via.superuser_refusal(), |c, _| {
        Ok(users::list_live(c, &filter, sort, query.page.into())?.into())
    })
}

/// `GET /users/{id}`: yourself, or anyone when you are a superuser. The permission check comes first, so a
/// normal user learns nothing about which ids exist. Superusers also see soft-deleted accounts.
pub fn view_user(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<User, ServiceError> {
    let mut conn = svc.db.conn()?;
    let caller = Caller::current(&mut conn, door, svc.now())?;
    if caller.user_id() == id {
        return Ok(caller.user().clone().into());
    }
    caller.superuser(messages::CANNOT_VIEW)?;
    find_user(&mut conn, id)
}

/// `GET /admin/users/{id}`: any account, soft-deleted ones included.
pub fn get_user(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<User, ServiceError> {
    as_superuser(svc, door, messages::SUPERUSER_REQUIRED, |c, _| find_user(c, id))
}

fn find_user(c: &mut AnyConnection, id: uuid::Uuid) -> Result<User, ServiceError> {
    users::find_by_id(c, id)?.map(User::from).ok_or_else(|| user_not_found(id))
}

// --- Create and update -------------------------------------------------------------------------------

/// An account an administrator creates (`UserCreate`): unlike self-registration, the administrator
/// chooses whether it is a superuser.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub is_superuser: bool,
}

/// The checked and normalised fields of an update, ready to write.
struct Checked {
    changes: UserChanges,
    new_password: bool,
}

/// Checks a `UserUpdate` with the shared user-field rules and turns it into column changes, hashing a
/// new password on the hashing pool (never on a thread database work needs).
async fn check_update(svc: &Services, update: UserUpdate, now: DateTime<Utc>) -> Result<Checked, ServiceError> {
    let fields = UserFields {
        first_name: update.first_name,
        last_name: update.last_name,
        phone_number: update.phone_number,
        password: update.password,
        preferences: update.preferences,
        locale: update.locale,
    }
    .validate()
    .map_err(ServiceError::Validation)?;
    let hash = match fields.password {
        Some(pw) => Some(svc.hashing.hash(pw).await?),
        None => None,
    };
    Ok(Checked {
        new_password: hash.is_some(),
        changes: UserChanges {
            first_name: fields.first_name,
            last_name: fields.last_name,
            phone_number: fields.phone_number,
            password_hash: hash.map(Some),
            preferences: fields.preferences.map(|p| p.map(Json)),
            locale: fields.locale,
            is_active: update.is_active,
            updated_at: Some(Ts(now)),
        },
    })
}

/// `POST /admin/users`: creates an active account; a taken email is a conflict.
pub async fn create_user(svc: &Arc<Services>, door: &Authenticated, account: NewAccount) -> Result<User, ServiceError> {
    let mut errors = Vec::new();
    let email = Email::parse(&account.email).map_err(|e| errors.push(e)).ok();
    let fields = UserFields {
        first_name: Some(account.first_name),
        last_name: Some(account.last_name),
        phone_number: Some(account.phone_number),
        password: Some(account.password),
        ..UserFields::default()
    }
    .validate()
    .map_err(|e| errors.extend(e))
    .ok();
    let (Some(email), Some(fields), true) = (email, fields, errors.is_empty()) else {
        return Err(ServiceError::Validation(errors));
    };
    let password = fields.password.unwrap_or_default();
    let hash = svc.hashing.hash(password).await?;
    let now = svc.now();
    let new = NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.into_string(),
        password_hash: Some(hash),
        first_name: fields.first_name.unwrap_or_default(),
        last_name: fields.last_name.flatten(),
        phone_number: fields.phone_number.flatten(),
        is_active: true,
        is_superuser: account.is_superuser,
        preferences: Some(Json(json!({}))),
        locale: None,
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    let door = door.clone();
    svc.blocking(move |svc| {
        let mut conn = svc.db.conn()?;
        write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
            let caller = Caller::readmit(c, &door, now)?;
            let admin = caller.superuser(messages::SUPERUSER_REQUIRED)?;
            let user = match users::create(c, &new) {
                Ok(user) => user,
                Err(DbError::Conflict { .. }) => return Err(email_taken(&new.email)),
                Err(e) => return Err(e.into()),
            };
            Audit::by(&admin).user(user.id.0).record(
                c,
                now,
                SecurityEventKind::UserCreated,
                Some(json!({"is_superuser": user.is_superuser})),
            )?;
            Ok(user.into())
        })
    })
    .await
}

/// 409 for an email that belongs to an account already.
fn email_taken(email: &str) -> ServiceError {
    ServiceError::Conflict { code: "USER_002", message: format!("User with email {email} already exists"), field: None }
}

/// Which route an update came through: they differ in who may do it and in their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `GET /users`, `PATCH /users/{id}`, `DELETE /users/{id}`.
    Users,
    /// `PUT /admin/users/{id}`, `DELETE /admin/users/{id}`, ...
    Admin,
}

impl Via {
    /// How the route refuses a caller who is not a superuser.
    fn superuser_refusal(self) -> &'static str {
        match self {
            Via::Users => messages::NOT_ENOUGH_PERMISSIONS,
            Via::Admin => messages::SUPERUSER_REQUIRED,
        }
    }

    /// How the route refuses a caller who may not update someone else's account.
    fn update_refusal(self) -> &'static str {
        match self {
            Via::Users => messages::CANNOT_UPDATE,
            Via::Admin => messages::SUPERUSER_REQUIRED,
        }
    }
}

/// `PATCH /users/{id}` and `PUT /admin/users/{id}`. On your own account this is `PATCH /users/me` (a new
/// password needs the current one and ends your other sessions; a superuser cannot deactivate themselves).
/// On someone else's account, as a superuser: the fields change; a new password ends all their sessions (no
/// current password is asked: the administrator does not know it); deactivating ends all their sessions too.
pub async fn update_user(
    svc: &Arc<Services>,
    door: &Authenticated,
    id: uuid::Uuid,
    update: UserUpdate,
    via: Via,
) -> Result<User, ServiceError> {
    if id == door.user_id() {
        let needs = match via {
            Via::Users => None,
            Via::Admin => Some(messages::SUPERUSER_REQUIRED),
        };
        return crate::users::update_self(svc, door, update, needs).await;
    }
    // A quick refusal before any password is hashed; the decision that counts is taken again below.
    require_superuser(door, via.update_refusal())?;
    let now = svc.now();
    let Checked { changes, new_password } = check_update(svc, update, now).await?;
    let door = door.clone();
    svc.blocking(move |svc| {
        let mut conn = svc.db.conn()?;
        let result = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
            let (caller, rows) = Caller::readmit_with(c, &door, &[id], now)?;
            let admin = caller.superuser(via.update_refusal())?;
            let before = the_target(rows, id)?;
            let user = users::update(c, id, &changes)?;
            let audit = Audit::by(&admin).user(id);
            let fields = changed_fields(&changes);
            audit.record(c, now, SecurityEventKind::UserUpdated, Some(json!({"fields": fields})))?;
            if new_password {
                // The target sees the change in their history; every session they had ends.
                audit.record(c, now, SecurityEventKind::PasswordChanged, Some(json!({"by_admin": true})))?;
                end_sessions(c, &admin, &[id], RevokeReason::PasswordChanged, now)?;
            }
            match (before.is_active, user.is_active) {
                (true, false) => {
                    audit.record(c, now, SecurityEventKind::UserDeactivated, None)?;
                    end_sessions(c, &admin, &[id], RevokeReason::UserDeactivated, now)?;
                }
                (false, true) => audit.record(c, now, SecurityEventKind::UserActivated, None)?,
                _ => {}
            }
            Ok(user.into())
        });
        svc.cache.forget_users(&[id]);
        result
    })
    .await
}

/// The names of the columns an update sets (values stay out of the audit trail: they may be personal).
fn changed_fields(c: &UserChanges) -> Vec<&'static str> {
    [
        ("first_name", c.first_name.is_some()),
        ("last_name", c.last_name.is_some()),
        ("phone_number", c.phone_number.is_some()),
        ("password", c.password_hash.is_some()),
        ("preferences", c.preferences.is_some()),
        ("locale", c.locale.is_some()),
        ("is_active", c.is_active.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

// --- Delete, activate, deactivate, bulk --------------------------------------------------------------

/// `DELETE /users/{id}` and `DELETE /admin/users/{id}`: soft-deletes the account and ends its sessions.
/// The email stays taken. Deleting an already deleted account succeeds again. Returns the account. Nobody
/// deletes their own account this way (403 `AUTH_007` for a superuser on either route).
pub fn delete_user(svc: &Services, door: &Authenticated, id: uuid::Uuid, via: Via) -> Result<User, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
        let (caller, rows) = Caller::readmit_with(c, door, &[id], now)?;
        let admin = caller.superuser(via.superuser_refusal())?;
        if id == admin.user_id() {
            return Err(ServiceError::OperationForbidden(messages::CANNOT_DELETE_SELF.to_owned()));
        }
        let user = the_target(rows, id)?;
        if user.deleted_at.is_none() {
            users::soft_delete(c, id, Ts(now))?;
            Audit::by(&admin).user(id).record(c, now, SecurityEventKind::UserDeleted, None)?;
        }
        end_sessions(c, &admin, &[id], RevokeReason::UserDeleted, now)?;
        Ok(user.into())
    });
    svc.cache.forget_users(&[id]);
    result
}

/// `POST /admin/users/{id}/activate` and `/deactivate`. Deactivating ends every session of the user, and
/// activating does not bring them back. An administrator cannot deactivate themselves. Returns the account.
pub fn set_active(svc: &Services, door: &Authenticated, id: uuid::Uuid, active: bool) -> Result<User, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
        let (caller, rows) = Caller::readmit_with(c, door, &[id], now)?;
        let admin = caller.superuser(messages::SUPERUSER_REQUIRED)?;
        if !active && id == admin.user_id() {
            return Err(ServiceError::OperationForbidden(messages::CANNOT_DEACTIVATE_SELF.into()));
        }
        let before = the_target(rows, id)?;
        let user = users::set_active(c, id, active, Ts(now))?;
        let audit = Audit::by(&admin).user(id);
        if active {
            if !before.is_active {
                audit.record(c, now, SecurityEventKind::UserActivated, None)?;
            }
        } else {
            if before.is_active {
                audit.record(c, now, SecurityEventKind::UserDeactivated, None)?;
            }
            end_sessions(c, &admin, &[id], RevokeReason::UserDeactivated, now)?;
        }
        Ok(user.into())
    });
    svc.cache.forget_users(&[id]);
    result
}

/// What a bulk action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Activate,
    Deactivate,
    Delete,
}

impl BulkAction {
    /// The action's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Activate => "activate",
            BulkAction::Deactivate => "deactivate",
            BulkAction::Delete => "delete",
        }
    }
}

/// How a bulk action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Accounts the action applied to.
    pub affected: usize,
    /// Ids it skipped: unknown, soft-deleted, or (for deactivate and delete) the caller's own.
    pub skipped: usize,
}

/// `POST /admin/users/bulk-action`: applies the action to every live account among `ids` at once.
/// Deactivate and delete skip the calling administrator and end the affected users' sessions.
pub fn bulk_action(
    svc: &Services,
    door: &Authenticated,
    action: BulkAction,
    ids: &[uuid::Uuid],
) -> Result<BulkOutcome, ServiceError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let affected = write_transaction(&mut conn, |c| -> Result<Vec<uuid::Uuid>, ServiceError> {
        let (caller, _) = Caller::readmit_with(c, door, &ids, now)?;
        let admin = caller.superuser(messages::SUPERUSER_REQUIRED)?;
        let actor = admin.user_id();
        let (affected, kind, reason) = match action {
            BulkAction::Activate => {
                (users::set_active_many(c, &ids, true, None, Ts(now))?, SecurityEventKind::UserActivated, None)
            }
            BulkAction::Deactivate => (
                users::set_active_many(c, &ids, false, Some(actor), Ts(now))?,
                SecurityEventKind::UserDeactivated,
                Some(RevokeReason::UserDeactivated),
            ),
            BulkAction::Delete => (
                users::soft_delete_many(c, &ids, Some(actor), Ts(now))?,
                SecurityEventKind::UserDeleted,
                Some(RevokeReason::UserDeleted),
            ),
        };
        for id in &affected {
            Audit::by(&admin).user(*id).record(c, now, kind, Some(json!({"bulk": true})))?;
        }
        if let Some(reason) = reason {
            end_sessions(c, &admin, &affected, reason, now)?;
        }
        Ok(affected)
    });
    svc.cache.forget_users(&ids);
    let affected = affected?;
    Ok(BulkOutcome { affected: affected.len(), skipped: ids.len() - affected.len() })
}

// --- Sessions ----------------------------------------------------------------------------------------

/// A session row and its user's row as an administrator sees them.
fn admin_session(session: SessionRow, user: &UserRow) -> AdminSession {
    let user_full_name = User::from(user.clone()).full_name();
    AdminSession { session: Session::from(session), user_email: user.email.clone(), user_full_name }
}

/// `GET /admin/sessions`: active, unexpired sessions (or, with `only_active` false, every session) of all
/// users, most recently used first, each with its user.
pub fn list_sessions(
    svc: &Services,
    door: &Authenticated,
    only_active: bool,
    page: PageRequest,
) -> Result<Page<AdminSession>, ServiceError> {
    as_superuser(svc, door, messages::SUPERUSER_REQUIRED, |c, _| {
        let rows = sessions::list_all(c, only_active, Ts(svc.now()), page.into())?;
        Ok(Page { items: rows.items.into_iter().map(|(s, u)| admin_session(s, &u)).collect(), total: rows.total })
    })
}

/// `GET /admin/users/{id}/sessions`: the user's active, unexpired sessions, with the user.
pub fn user_sessions(
    svc: &Services,
    door: &Authenticated,
    id: uuid::Uuid,
    page: PageRequest,
) -> Result<Page<AdminSession>, ServiceError> {
    as_superuser(svc, door, messages::SUPERUSER_REQUIRED, |c, _| {
        let user = users::find_by_id(c, id)?.ok_or_else(|| user_not_found(id))?;
        let rows = sessions::page_active(c, id, Ts(svc.now()), page.into())?;
        Ok(Page { items: rows.items.into_iter().map(|s| admin_session(s, &user)).collect(), total: rows.total })
    })
}

/// `DELETE /admin/sessions/{id}`: ends any session; its owner sees the revocation in their history.
/// Ending an already ended session succeeds. Returns the session (as it was) and its user.
pub fn revoke_session(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<AdminSession, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<AdminSession, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(messages::SUPERUSER_REQUIRED)?;
        let not_found = || ServiceError::NotFound(format!("Session {id} not found"));
        let (session, user) = sessions::find_with_user(c, id)?.ok_or_else(not_found)?;
        if sessions::revoke(c, id, RevokeReason::AdminRevoked.as_str(), Ts(now))? {
            Audit::by(&admin).user(user.id.0).session(id).record(
                c,
                now,
                SecurityEventKind::SessionRevoked,
                Some(json!({"reason": RevokeReason::AdminRevoked.as_str()})),
            )?;
            crate::counters::sessions_revoked(RevokeReason::AdminRevoked.as_str(), 1);
        }
        Ok(admin_session(session, &user))
    });
    // An error rolled everything back (a lost answer to a commit is bounded by the cache's maximum age).
    if let Ok(ended) = &result {
        svc.cache.forget_sessions(ended.session.user_id, &[id]);
    }
    result
}

/// `POST /admin/users/{id}/revoke-sessions`: ends every session of the user; returns the user and how
/// many ended.
pub fn revoke_user_sessions(
    svc: &Services,
    door: &Authenticated,
    id: uuid::Uuid,
) -> Result<(User, usize), ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<(User, usize), ServiceError> {
        let (caller, rows) = Caller::readmit_with(c, door, &[id], now)?;
        let admin = caller.superuser(messages::SUPERUSER_REQUIRED)?;
        let user = the_target(rows, id)?;
        let n = end_sessions(c, &admin, &[id], RevokeReason::AdminRevoked, now)?;
        Ok((user.into(), n))
    });
    svc.cache.forget_users(&[id]);
    result
}

// --- Statistics --------------------------------------------------------------------------------------

/// The admin dashboard's figures, from the database as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The last 30 UTC days, oldest first: accounts that existed at the end of each day (soft-deleted ones
    /// included, as in the reference), and how many of them are active now.
    pub user_growth: Vec<GrowthDay>,
    /// The six organizations with the most active members, largest first.
    pub organization_distribution: Vec<(String, i64)>,
    /// The last 14 UTC days, oldest first: accounts created that day (since deleted ones included).
    pub registration_activity: Vec<(NaiveDate, i64)>,
    /// Accounts (soft-deleted ones included) that are active, and that are not.
    pub active_users: i64,
    pub inactive_users: i64,
}

/// One day of [`Stats::user_growth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthDay {
    pub date: NaiveDate,
    pub total_users: i64,
    pub active_users: i64,
}

/// Days shown by the growth chart and the registrations chart.
const GROWTH_DAYS: i64 = 30;
const REGISTRATION_DAYS: i64 = 14;
/// Organizations shown by the distribution chart.
const TOP_ORGANIZATIONS: i64 = 6;

/// `GET /admin/stats`. Three queries over `users` (two counts and the rows created in the last 30
/// days) and one grouped query over memberships, however large the tables.
pub fn stats(svc: &Services, door: &Authenticated) -> Result<Stats, ServiceError> {
    let now = svc.now();
    let today = now.date_naive();
    let first_day = today - Duration::days(GROWTH_DAYS - 1);
    let start = first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let (growth, organization_distribution) = as_superuser(svc, door, messages::SUPERUSER_REQUIRED, |c, _| {
        Ok((users::growth_since(c, Ts(start))?, stats::organization_distribution(c, TOP_ORGANIZATIONS)?))
    })?;
    let user_growth: Vec<GrowthDay> = (0..GROWTH_DAYS)
        .map(|offset| {
            let date = first_day + Duration::days(offset);
            let end = (date + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            let created: Vec<bool> =
                growth.created.iter().filter(|(created, _)| created.0 < end).map(|(_, active)| *active).collect();
            GrowthDay {
                date,
                total_users: growth.total_before + count(created.len()),
                active_users: growth.active_before + count(created.iter().filter(|a| **a).count()),
            }
        })
        .collect();
    let registration_activity = (0..REGISTRATION_DAYS)
        .map(|offset| {
            let date = today - Duration::days(REGISTRATION_DAYS - 1 - offset);
            (date, count(growth.created.iter().filter(|(created, _)| created.0.date_naive() == date).count()))
        })
        .collect();
    let last = user_growth.last().copied().unwrap_or(GrowthDay { date: today, total_users: 0, active_users: 0 });
    Ok(Stats {
        user_growth,
        organization_distribution,
        registration_activity,
        active_users: last.active_users,
        inactive_users: last.total_users - last.active_users,
    })
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sortable_column_is_known_to_the_repository() {
        let names: Vec<&str> = UserSortColumn::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, USER_SORT_COLUMNS);
    }
}
