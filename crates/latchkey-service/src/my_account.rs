//! The caller's own account (`/users/me`): updating it (`PATCH /users/me`), changing its password
//! (`PATCH /users/me/password`), and the rule both follow for a new password: the current one, checked as
//! a login checks a password.

use std::sync::Arc;

use latchkey_auth::Verification;
use latchkey_db::models::UserChanges;
use latchkey_db::repo::{sessions, users};
use latchkey_db::{AnyConnection, Ts, write_transaction};
use latchkey_domain::{DomainError, Email, RevokeReason, SecurityEventKind, validate_password_as};

use crate::authz::CANNOT_DEACTIVATE_SELF;
use crate::caller::{Authenticated, Caller};
use crate::counters;
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::services::Services;
use crate::throttle;
use crate::user_fields::UserFields;
use crate::views::User;

/// `PATCH /users/me/password`: checks the current password, stores the new one, and ends every other
/// session of the user (the caller's stays); returns how many ended.
pub async fn change_password(
    svc: &Arc<Services>,
    caller: &Authenticated,
    current_password: String,
    new_password: String,
) -> Result<usize, ServiceError> {
    validate_password_as("new_password", &new_password)?;
    let attempt = check_current_password(svc, caller, Some(current_password)).await?;
    let hash = svc.hashing.hash(new_password).await?;
    let door = caller.clone();
    svc.blocking(move |svc| {
        let now = svc.now();
        let mut conn = svc.db.conn()?;
        let ended = write_transaction(&mut conn, |c| -> Result<usize, ServiceError> {
            let caller = Caller::readmit(c, &door, now)?;
            throttle::clear(c, &attempt)?;
            // Written only over the hash that was just verified: of two concurrent changes one wins, the
            // other finds its current password no longer current.
            if !users::swap_password_hash(c, caller.user_id(), door.password_hash(), &hash, Ts(now))? {
                return Err(ServiceError::WrongCurrentPassword);
            }
            end_other_sessions(c, &caller, now)
        });
        // Forgotten whatever the outcome (a commit whose answer was lost still committed).
        svc.cache.forget_users(&[door.user_id()]);
        let ended = ended?;
        counters::sessions_revoked(RevokeReason::PasswordChanged.as_str(), ended);
        Ok(ended)
    })
    .await
}

/// The rule for a user changing their own password (`PATCH /users/me/password`, a `password` in
/// `PATCH /users/me`, and in `PATCH /users/{id}` on one's own account): the current password must be
/// given and right. A stolen access token alone must not be enough to take the account over for good.
/// Wrong guesses count toward the per-account login throttle, and a throttled account gets its 429 here
/// too, so this is no way around the login limit.
///
/// It works as a login does: the attempt is reserved on the account's throttle counter first, then
/// verified on the hashing pool. Returns the attempt, to be cleared when the change is written.
pub async fn check_current_password(
    svc: &Arc<Services>,
    caller: &Authenticated,
    current_password: Option<String>,
) -> Result<throttle::Attempt, ServiceError> {
    let Some(current_password) = current_password else {
        return Err(DomainError::invalid("current_password", CURRENT_PASSWORD_REQUIRED).into());
    };
    if !latchkey_domain::password::within_max_length(&current_password) {
        return Err(ServiceError::WrongCurrentPassword);
    }
    let email = Email::parse(&caller.user.email)?;
    let stored = caller.password_hash().map(str::to_owned);
    let checked = throttle::check_password(svc, current_password, move |svc| {
        let mut conn = svc.db.conn()?;
        Ok((throttle::reserve(svc, &mut conn, &email, svc.now())?, stored, ()))
    })
    .await?;
    if checked.verification == Verification::Invalid {
        let (user_id, session_id) = (caller.user_id(), caller.session_id());
        svc.blocking(move |svc| {
            let mut conn = svc.db.conn()?;
            record_event(
                &mut conn,
                svc.now(),
                SecurityEventKind::LoginFailed,
                EventContext { user_id: Some(user_id), session_id: Some(session_id), device: None },
                Some(serde_json::json!({"reason": "wrong_current_password"})),
            )
        })
        .await?;
        return Err(ServiceError::WrongCurrentPassword);
    }
    Ok(checked.attempt)
}

/// The refusal of a new password given without the current one.
const CURRENT_PASSWORD_REQUIRED: &str = "Current password is required to change the password";

/// After the caller's password changed: ends their other sessions and records the change.
fn end_other_sessions(
    c: &mut AnyConnection,
    caller: &Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, ServiceError> {
    let ended = sessions::revoke_all(
        c,
        caller.user_id(),
        Some(caller.session_id()),
        RevokeReason::PasswordChanged.as_str(),
        Ts(now),
    )?;
    record_event(
        c,
        now,
        SecurityEventKind::PasswordChanged,
        EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None },
        Some(serde_json::json!({"other_sessions_ended": ended})),
    )?;
    Ok(ended)
}

/// A partial update of the caller's account (`UserUpdate`): `None` leaves a field alone; for nullable
/// fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub password: Option<String>,
    /// Required (and checked) when `password` is set.
    pub current_password: Option<String>,
    pub preferences: Option<Option<serde_json::Value>>,
    pub locale: Option<Option<String>>,
    pub is_active: Option<bool>,
}

impl UserUpdate {
    /// The update's user fields, taken out of it to be checked (`current_password` and `is_active` stay).
    pub(crate) fn take_fields(&mut self) -> UserFields {
        UserFields {
            first_name: self.first_name.take(),
            last_name: self.last_name.take(),
            phone_number: self.phone_number.take(),
            password: self.password.take(),
            preferences: self.preferences.take(),
            locale: self.locale.take(),
        }
    }
}

/// `PATCH /users/me`: applies the update. A new password needs the right current password and ends the
/// caller's other sessions; deactivating the account ends all of them (reactivation never brings them
/// back).
pub async fn update_me(svc: &Arc<Services>, caller: &Authenticated, update: UserUpdate) -> Result<User, ServiceError> {
    update_self(svc, caller, update, None).await
}

/// [`update_me`], through a route that also needs the caller to be a superuser (`PUT /admin/users/{own id}`):
/// `superuser` is that route's refusal, checked with the rest of the admission inside the transaction.
pub async fn update_self(
    svc: &Arc<Services>,
    caller: &Authenticated,
    mut update: UserUpdate,
    superuser: Option<&'static str>,
) -> Result<User, ServiceError> {
    let missing_current = update.password.is_some() && update.current_password.is_none();
    let fields = match update.take_fields().validate() {
        Ok(fields) if !missing_current => fields,
        other => {
            let mut errors = other.err().unwrap_or_default();
            if missing_current {
                errors.push(DomainError::invalid("current_password", CURRENT_PASSWORD_REQUIRED));
            }
            return Err(ServiceError::Validation(errors));
        }
    };
    // The current password is checked (as a login would be) and the new one hashed on the hashing pool,
    // before the database step.
    let attempt = match fields.password {
        Some(_) => Some(check_current_password(svc, caller, update.current_password.clone()).await?),
        None => None,
    };
    let hash = match fields.password.clone() {
        Some(pw) => Some(svc.hashing.hash(pw).await?),
        None => None,
    };
    let door = caller.clone();
    svc.blocking(move |svc| {
        let now = svc.now();
        let change = OwnChange {
            changes: fields.changes(update.is_active, now),
            deactivating: update.is_active == Some(false),
            attempt,
            hash,
            superuser,
        };
        let mut conn = svc.db.conn()?;
        let done = write_transaction(&mut conn, |c| apply_own_change(c, &door, &change, now));
        svc.cache.forget_users(&[door.user_id()]);
        let (user, ended) = done?;
        counters::sessions_revoked(RevokeReason::PasswordChanged.as_str(), ended.password_changed);
        counters::sessions_revoked(RevokeReason::UserDeactivated.as_str(), ended.deactivated);
        Ok(user)
    })
    .await
}

/// A checked change of the caller's own account, ready to write.
struct OwnChange {
    changes: UserChanges,
    deactivating: bool,
    /// The reserved attempt of the current password's check, to clear.
    attempt: Option<throttle::Attempt>,
    /// The new password's hash.
    hash: Option<String>,
    /// The refusal of a route that also needs the caller to be a superuser.
    superuser: Option<&'static str>,
}

/// Sessions an own-account change ended.
#[derive(Debug, Default)]
struct Ended {
    password_changed: usize,
    deactivated: usize,
}

/// [`update_self`]'s transaction: re-admits the caller, writes the change, ends the sessions it ends.
fn apply_own_change(
    c: &mut AnyConnection,
    door: &Authenticated,
    change: &OwnChange,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(User, Ended), ServiceError> {
    let caller = Caller::readmit(c, door, now)?;
    if let Some(refusal) = change.superuser {
        caller.superuser(refusal)?;
    }
    if change.deactivating && caller.is_superuser() {
        // The admin API refuses this too: the last superuser could lock everyone out of it.
        return Err(ServiceError::OperationForbidden(CANNOT_DEACTIVATE_SELF.into()));
    }
    if let Some(attempt) = &change.attempt {
        throttle::clear(c, attempt)?;
    }
    if let Some(hash) = &change.hash {
        // Written only over the hash that was just verified, as `PATCH /users/me/password` does: of
        // two concurrent changes (or a change and a reset), the one that checked an outdated
        // password fails instead of overwriting the newer one.
        if !users::swap_password_hash(c, caller.user_id(), door.password_hash(), hash, Ts(now))? {
            return Err(ServiceError::WrongCurrentPassword);
        }
    }
    let user = users::update(c, caller.user_id(), &change.changes)?;
    let mut ended = Ended::default();
    if change.hash.is_some() {
        ended.password_changed = end_other_sessions(c, &caller, now)?;
    }
    if change.deactivating {
        let reason = RevokeReason::UserDeactivated.as_str();
        ended.deactivated = sessions::revoke_all(c, caller.user_id(), None, reason, Ts(now))?;
        record_event(
            c,
            now,
            SecurityEventKind::SessionRevoked,
            EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None },
            Some(serde_json::json!({"reason": reason, "sessions": ended.deactivated})),
        )?;
    }
    Ok((user.into(), ended))
}
