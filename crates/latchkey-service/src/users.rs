//! The caller's own account: password change.

use latchkey_auth::Verification;
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{DomainError, RevokeReason, SecurityEventKind, validate_password};

use crate::auth::Authenticated;
use crate::error::ServiceError;
use crate::services::{EventContext, Services, record_event};
use crate::user_fields::UserFields;
use crate::views::User;

/// `PATCH /users/me/password`: checks the current password, stores the new one, and ends every other
/// session of the user (the caller's stays); returns how many ended.
pub fn change_password(
    svc: &Services,
    caller: &Authenticated,
    current_password: &str,
    new_password: &str,
) -> Result<usize, ServiceError> {
    validate_password(new_password).map_err(|e| relabel(e, "new_password"))?;
    check_current_password(svc, caller, Some(current_password))?;
    let hash = svc.hash_password(new_password)?;
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<usize, ServiceError> {
        users::set_password_hash(c, caller.user_id(), &hash, Ts(now))?;
        end_other_sessions(c, caller, now)
    })
}

/// The rule for a user changing their own password (`PATCH /users/me/password`, a `password` in
/// `PATCH /users/me`, and in `PATCH /users/{id}` on one's own account): the current password must be
/// given and right. A stolen access token alone must not be enough to take the account over for good.
/// Wrong guesses count toward the per-account login throttle, and a throttled account gets its 429 here
/// too, so this is no way around the login limit.
pub fn check_current_password(
    svc: &Services,
    caller: &Authenticated,
    current_password: Option<&str>,
) -> Result<(), ServiceError> {
    let Some(current_password) = current_password else {
        return Err(
            DomainError::invalid("current_password", "Current password is required to change the password").into()
        );
    };
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    if let Some(retry_after_secs) = crate::auth::throttle_wait(svc, &mut conn, caller.user_id(), now)? {
        return Err(ServiceError::LoginThrottled { retry_after_secs });
    }
    // The connection goes back to the pool while the hash is verified.
    drop(conn);
    if svc.verify_password(current_password, caller.password_hash()) != Verification::Invalid {
        return Ok(());
    }
    let mut conn = svc.db.conn()?;
    record_event(
        &mut conn,
        now,
        SecurityEventKind::LoginFailed,
        EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None },
        Some(serde_json::json!({"reason": "wrong_current_password"})),
    )?;
    Err(ServiceError::WrongCurrentPassword)
}

/// The largest `preferences` object accepted, serialized as compact JSON.
pub const PREFERENCES_MAX_BYTES: usize = 16 * 1024;
/// The deepest nesting accepted in `preferences` (the object itself is depth 1).
pub const PREFERENCES_MAX_DEPTH: usize = 8;

/// `preferences` is the client's settings store, not a file store: at most 16 KiB of JSON and 8 levels.
pub fn check_preferences(preferences: &serde_json::Value) -> Result<(), DomainError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = serde_json::to_vec(preferences).map_or(usize::MAX, |bytes| bytes.len());
    if size > PREFERENCES_MAX_BYTES {
        return Err(DomainError::invalid(
            "preferences",
            format!("Preferences must be at most {PREFERENCES_MAX_BYTES} bytes of JSON (got {size})"),
        ));
    }
    if depth(preferences) > PREFERENCES_MAX_DEPTH {
        return Err(DomainError::invalid(
            "preferences",
            format!("Preferences must not be nested more than {PREFERENCES_MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// After the caller's password changed: ends their other sessions and records the change.
fn end_other_sessions(
    c: &mut latchkey_db::AnyConnection,
    caller: &Authenticated,
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
pub fn update_me(svc: &Services, caller: &Authenticated, update: UserUpdate) -> Result<User, ServiceError> {
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
    if fields.password.is_some() {
        check_current_password(svc, caller, update.current_password.as_deref())?;
    }
    let hash = fields.password.as_deref().map(|pw| svc.hash_password(pw)).transpose()?;
    let now = svc.now();
    let deactivating = update.is_active == Some(false) && caller.user.is_active;
    let changes = UserChanges {
        first_name: fields.first_name,
        last_name: fields.last_name,
        phone_number: fields.phone_number,
        password_hash: hash.clone().map(Some),
        preferences: fields.preferences.map(|p| p.map(latchkey_db::Json)),
        locale: fields.locale,
        is_active: update.is_active,
        updated_at: Some(Ts(now)),
    };
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<User, ServiceError> {
        let user = users::update(c, caller.user_id(), &changes)?;
        let ctx = EventContext { user_id: Some(caller.user_id()), session_id: Some(caller.session_id()), device: None };
        if hash.is_some() {
            end_other_sessions(c, caller, now)?;
        }
        if deactivating {
            let ended =
                sessions::revoke_all(c, caller.user_id(), None, RevokeReason::UserDeactivated.as_str(), Ts(now))?;
            record_event(
                c,
                now,
                SecurityEventKind::SessionRevoked,
                ctx,
                Some(serde_json::json!({"reason": RevokeReason::UserDeactivated.as_str(), "sessions": ended})),
            )?;
        }
        Ok(user.into())
    })
}
