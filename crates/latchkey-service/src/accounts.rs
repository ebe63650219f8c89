//! Accounts by id: the `/users/{id}` routes (yourself, or anyone as a superuser) and the admin API's
//! users — lists, reads, create, update, delete, activate and deactivate.
//!
//! Every change runs in one transaction that first re-reads the acting administrator and the target users
//! under row locks (PostgreSQL `FOR UPDATE`, in id order; SQLite's writing transactions are serial), so the
//! checks made there hold until the change commits: an administrator deactivated a moment ago can no longer
//! act, and two administrators deactivating each other cannot both succeed. Each change also records who
//! did what to whom in the audit trail ([`crate::events::Audit`]), in the same transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_db::models::{NewUser, UserChanges, UserRow};
use latchkey_db::repo::users::{UserFilter, UserSort, UserSortColumn};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{AnyConnection, DbError, Ts, write_transaction};
use latchkey_domain::list::{ListQuery, Sort, SortOrder};
use latchkey_domain::{RevokeReason, SecurityEventKind};
use serde_json::json;

use crate::authz;
use crate::caller::{Authenticated, Caller, Superuser, as_superuser};
use crate::error::{ConflictKind, ServiceError};
use crate::events::Audit;
use crate::my_account::UserUpdate;
use crate::registration::{check_new_account, new_user};
use crate::services::Services;
use crate::views::{Page, User};

/// 404 for a user id.
pub(crate) fn user_not_found(id: uuid::Uuid) -> ServiceError {
    ServiceError::NotFound(format!("User {id} not found"))
}

/// The one locked target of an action, from what [`Caller::readmit_with`] locked; 404 when it does not exist.
pub(crate) fn the_target(rows: Vec<UserRow>, id: uuid::Uuid) -> Result<UserRow, ServiceError> {
    rows.into_iter().find(|u| u.id.0 == id).ok_or_else(|| user_not_found(id))
}

/// Ends every session of `targets` and records, for each user who had any, a `session_revoked` event that
/// shows in their history. Returns how many sessions ended in all.
pub(crate) fn end_sessions(
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
pub const USER_SORT_COLUMNS: &[&str] = UserSortColumn::NAMES;
/// How user lists are sorted when the query does not say: oldest first.
pub const USER_DEFAULT_SORT: Sort = Sort { column: UserSortColumn::CreatedAt.as_str(), order: SortOrder::Asc };

/// `GET /users` and `GET /admin/users`: one page of live users, filtered by `is_active` / `is_superuser`,
/// searched by `search`, oldest first unless sorted otherwise. Superusers only.
/// `refusal` is how the route refuses a caller who is not a superuser.
pub fn list_users(
    svc: &Services,
    door: &Authenticated,
    refusal: &'static str,
    query: &ListQuery,
) -> Result<Page<User>, ServiceError> {
    let filter = UserFilter {
        is_active: query.filter("is_active"),
        is_superuser: query.filter("is_superuser"),
        search: query.search.clone(),
    };
    let sort = query.sort_or(USER_DEFAULT_SORT);
    let column = UserSortColumn::parse(sort.column)
        .ok_or_else(|| ServiceError::Internal(format!("unsortable column {}", sort.column)))?;
    let sort = UserSort { column, descending: sort.order.is_desc() };
    as_superuser(&svc.db, svc.now(), door, refusal, |c, _| {
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
    caller.superuser(authz::CANNOT_VIEW)?;
    find_user(&mut conn, id)
}

/// `GET /admin/users/{id}`: any account, soft-deleted ones included.
pub fn get_user(svc: &Services, door: &Authenticated, id: uuid::Uuid) -> Result<User, ServiceError> {
    as_superuser(&svc.db, svc.now(), door, authz::SUPERUSER_REQUIRED, |c, _| find_user(c, id))
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
async fn check_update(svc: &Services, mut update: UserUpdate, now: DateTime<Utc>) -> Result<Checked, ServiceError> {
    let mut fields = update.take_fields().validate().map_err(ServiceError::Validation)?;
    let hash = match fields.password.take() {
        Some(pw) => Some(svc.hashing.hash(pw).await?),
        None => None,
    };
    Ok(Checked {
        new_password: hash.is_some(),
        changes: UserChanges { password_hash: hash.map(Some), ..fields.changes(update.is_active, now) },
    })
}

/// `POST /admin/users`: creates an active account; a taken email is a conflict.
pub async fn create_user(svc: &Arc<Services>, door: &Authenticated, account: NewAccount) -> Result<User, ServiceError> {
    let (email, fields) = check_new_account(
        &account.email,
        account.first_name,
        account.last_name,
        account.phone_number,
        account.password,
    )?;
    let hash = svc.hashing.hash(fields.password.unwrap_or_default()).await?;
    let now = svc.now();
    let new = NewUser {
        last_name: fields.last_name.flatten(),
        phone_number: fields.phone_number.flatten(),
        ..new_user(email, hash, fields.first_name.unwrap_or_default(), account.is_superuser, now)
    };
    let door = door.clone();
    svc.blocking(move |svc| {
        let mut conn = svc.db.conn()?;
        write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
            let caller = Caller::readmit(c, &door, now)?;
            let admin = caller.superuser(authz::SUPERUSER_REQUIRED)?;
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
    ServiceError::Conflict {
        kind: ConflictKind::Email,
        message: format!("User with email {email} already exists"),
        field: None,
    }
}

/// Who a route lets update an account, and how it refuses the others (the routes word their refusals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateRule {
    /// The refusal of a caller who is not a superuser, on someone else's account.
    pub refusal: &'static str,
    /// On the caller's own account: the refusal when that too needs a superuser (the admin API), or `None`
    /// when anyone may (`PATCH /users/{id}`, which is `PATCH /users/me` there).
    pub own_account: Option<&'static str>,
}

impl UpdateRule {
    /// Superusers only, on any account, their own included (`PUT /admin/users/{id}`).
    pub const SUPERUSERS: UpdateRule =
        UpdateRule { refusal: authz::SUPERUSER_REQUIRED, own_account: Some(authz::SUPERUSER_REQUIRED) };
    /// Yourself, or anyone as a superuser (`PATCH /users/{id}`).
    pub const SELF_OR_SUPERUSER: UpdateRule = UpdateRule { refusal: authz::CANNOT_UPDATE, own_account: None };
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
    rule: UpdateRule,
) -> Result<User, ServiceError> {
    if id == door.user_id() {
        return crate::my_account::update_self(svc, door, update, rule.own_account).await;
    }
    // A quick refusal before any password is hashed; the decision that counts is taken again below.
    door.require_superuser(rule.refusal)?;
    let now = svc.now();
    let Checked { changes, new_password } = check_update(svc, update, now).await?;
    let door = door.clone();
    svc.blocking(move |svc| {
        let mut conn = svc.db.conn()?;
        let result = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
            let (caller, rows) = Caller::readmit_with(c, &door, &[id], now)?;
            let admin = caller.superuser(rule.refusal)?;
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

// --- Delete, activate, deactivate --------------------------------------------------------------------

/// `DELETE /users/{id}` and `DELETE /admin/users/{id}`: soft-deletes the account and ends its sessions.
/// The email stays taken. Deleting an already deleted account succeeds again. Returns the account. Nobody
/// deletes their own account this way (403 `AUTH_007` for a superuser on either route).
/// `refusal` is how the route refuses a caller who is not a superuser.
pub fn delete_user(
    svc: &Services,
    door: &Authenticated,
    id: uuid::Uuid,
    refusal: &'static str,
) -> Result<User, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    let result = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
        let (caller, rows) = Caller::readmit_with(c, door, &[id], now)?;
        let admin = caller.superuser(refusal)?;
        if id == admin.user_id() {
            return Err(ServiceError::OperationForbidden(authz::CANNOT_DELETE_SELF.to_owned()));
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
        let admin = caller.superuser(authz::SUPERUSER_REQUIRED)?;
        if !active && id == admin.user_id() {
            return Err(ServiceError::OperationForbidden(authz::CANNOT_DEACTIVATE_SELF.into()));
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
