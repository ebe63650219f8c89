//! The caller's own account: password change.

use std::sync::Arc;

use latchkey_auth::Verification;
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{DomainError, Email, RevokeReason, SecurityEventKind, validate_password};

use crate::auth::Authenticated;
use crate::caller::Caller;
use crate::counters;
use crate::error::ServiceError;
use crate::services::{EventContext, Services, record_event};
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
    validate_password(&new_password).map_err(|e| relabel(e, "new_password"))?;
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
        return Err(
            DomainError::invalid("current_password", "Current password is required to change the password").into()
        );
    };
    if !latchkey_domain::password::within_max_length(&current_password) {
        return Err(ServiceError::WrongCurrentPassword);
    }
    let email = Email::parse(&caller.user.email)?;
    // The ticket first: a request that is shed costs the database nothing.
    let ticket = svc.hashing.ticket().await?;
    let attempt = svc
        .blocking(move |svc| {
            let mut conn = svc.db.conn()?;
            throttle::reserve(svc, &mut conn, &email, svc.now())
        })
        .await?;
    let verification = match ticket.verify(current_password, caller.password_hash().map(str::to_owned)).await {
        Ok(v) => v,
        Err(e) => {
            // Nothing was verified: give the attempt back.
            let held = attempt.clone();
            svc.blocking(move |svc| {
                let mut conn = svc.db.conn()?;
                write_transaction(&mut conn, |c| throttle::release(c, &held))
            })
            .await?;
            return Err(e);
        }
    };
    if verification == Verification::Invalid {
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
    Ok(attempt)
}

/// The largest `preferences` object accepted, serialized as compact JSON (an organization's `settings` too).
pub const PREFERENCES_MAX_BYTES: usize = 16 * 1024;
/// The deepest nesting accepted in `preferences` (the object itself is depth 1).
pub const PREFERENCES_MAX_DEPTH: usize = 8;

/// `preferences` is the client's settings store, not a file store: at most 16 KiB of JSON and 8 levels.
pub fn check_preferences(preferences: &serde_json::Value) -> Result<(), DomainError> {
    check_json_store("preferences", "Preferences", preferences)
}

/// The bounds of a JSON settings store (a user's `preferences`, an organization's `settings`): at most
/// [`PREFERENCES_MAX_BYTES`] of compact JSON and [`PREFERENCES_MAX_DEPTH`] levels; `label` starts the message.
pub fn check_json_store(field: &'static str, label: &str, value: &serde_json::Value) -> Result<(), DomainError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len());
    if size > PREFERENCES_MAX_BYTES {
        return Err(DomainError::invalid(
            field,
            format!("{label} must be at most {PREFERENCES_MAX_BYTES} bytes of JSON (got {size})"),
        ));
    }
    if depth(value) > PREFERENCES_MAX_DEPTH {
        return Err(DomainError::invalid(
            field,
            format!("{label} must not be nested more than {PREFERENCES_MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// After the caller's password changed: ends their other sessions and records the change.
fn end_other_sessions(
    c: &mut latchkey_db::AnyConnection,
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

/// The same rule failure, reported against another field name.
pub fn relabel(e: DomainError, field: &'static str) -> DomainError {
    match e {
        DomainError::Invalid { message, .. } => DomainError::Invalid { field, message },
        DomainError::Constraint { message, .. } => DomainError::Constraint { field, message },
    }
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
    update: UserUpdate,
    superuser: Option<&'static str>,
) -> Result<User, ServiceError> {
    use latchkey_db::models::UserChanges;
    let missing_current = update.password.is_some() && update.current_password.is_none();
    let fields = UserFields {
        first_name: update.first_name,
        last_name: update.last_name,
        phone_number: update.phone_number,
        password: update.password,
        preferences: update.preferences,
        locale: update.locale,
    }
    .validate();
    let fields = match fields {
        Ok(fields) if !missing_current => fields,
        other => {
            let mut errors = other.err().unwrap_or_default();
            if missing_current {
                errors.push(DomainError::invalid(
                    "current_password",
                    "Current password is required to change the password",
                ));
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
        let changes = UserChanges {
            first_name: fields.first_name,
            last_name: fields.last_name,
            phone_number: fields.phone_number,
            password_hash: None,
            preferences: fields.preferences.map(|p| p.map(latchkey_db::Json)),
            locale: fields.locale,
            is_active: update.is_active,
            updated_at: Some(Ts(now)),
        };
        let mut conn = svc.db.conn()?;
        let mut ended = (0, 0);
        let user = write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
            let caller = Caller::readmit(c, &door, now)?;
            if let Some(refusal) = superuser {
                caller.superuser(refusal)?;
            }
            let deactivating = update.is_active == Some(false);
            if deactivating && caller.is_superuser() {
                // The admin API refuses this too: the last superuser could lock everyone out of it.
                return Err(ServiceError::OperationForbidden(crate::admin::messages::CANNOT_DEACTIVATE_SELF.into()));
            }
            if let Some(attempt) = &attempt {
                throttle::clear(c, attempt)?;
            }
            if let Some(hash) = &hash {
                // Written only over the hash that was just verified, as `PATCH /users/me/password` does: of
                // two concurrent changes (or a change and a reset), the one that checked an outdated
                // password fails instead of overwriting the newer one.
                if !users::swap_password_hash(c, caller.user_id(), door.password_hash(), hash, Ts(now))? {
                    return Err(ServiceError::WrongCurrentPassword);
                }
            }
            let user = users::update(c, caller.user_id(), &changes)?;
            let ctx =
                EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None };
            if hash.is_some() {
                ended.0 = end_other_sessions(c, &caller, now)?;
            }
            if deactivating {
                ended.1 =
                    sessions::revoke_all(c, caller.user_id(), None, RevokeReason::UserDeactivated.as_str(), Ts(now))?;
                record_event(
                    c,
                    now,
                    SecurityEventKind::SessionRevoked,
                    ctx,
                    Some(serde_json::json!({"reason": RevokeReason::UserDeactivated.as_str(), "sessions": ended.1})),
                )?;
            }
            Ok(user.into())
        });
        svc.cache.forget_users(&[door.user_id()]);
        let user = user?;
        counters::sessions_revoked(RevokeReason::PasswordChanged.as_str(), ended.0);
        counters::sessions_revoked(RevokeReason::UserDeactivated.as_str(), ended.1);
        Ok(user)
    })
    .await
}
