//! The caller's own account: password change.

use latchkey_auth::Verification;
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{DomainError, RevokeReason, SecurityEventKind, validate_password};

use crate::auth::Authenticated;
use crate::error::ServiceError;
use crate::services::{EventContext, Services, record_event};

/// `PATCH /users/me/password`: checks the current password, stores the new one, and ends every other
/// session of the user (the caller's stays); returns how many ended.
pub fn change_password(
    svc: &Services,
    caller: &Authenticated,
    current_password: &str,
    new_password: &str,
) -> Result<usize, ServiceError> {
    validate_password(new_password).map_err(|e| relabel(e, "new_password"))?;
    let verification = svc.verify_password(current_password, caller.user.password_hash.as_deref());
    if verification == Verification::Invalid {
        return Err(ServiceError::WrongCurrentPassword);
    }
    let hash = svc.hash_password(new_password)?;
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<usize, ServiceError> {
        users::set_password_hash(c, caller.user_id(), &hash, Ts(now))?;
        end_other_sessions(c, caller, now)
    })
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
    pub preferences: Option<Option<serde_json::Value>>,
    pub locale: Option<Option<String>>,
    pub is_active: Option<bool>,
}

/// `PATCH /users/me`: applies the update. A new password ends the caller's other sessions; deactivating
/// the account ends all of them (reactivation never brings them back).
pub fn update_me(
    svc: &Services,
    caller: &Authenticated,
    update: UserUpdate,
) -> Result<latchkey_db::models::UserRow, ServiceError> {
    use latchkey_db::models::UserChanges;
    use latchkey_domain::{normalize_locale, normalize_phone};

    let mut errors = Vec::new();
    let mut check_len = |field: &'static str, v: &str| {
        if v.chars().count() > 100 {
            errors.push(DomainError::constraint(field, "String should have at most 100 characters"));
        }
    };
    if let Some(first) = &update.first_name {
        check_len("first_name", first);
    }
    if let Some(Some(last)) = &update.last_name {
        check_len("last_name", last);
    }
    let phone = match update.phone_number {
        Some(Some(raw)) => match normalize_phone(&raw) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        other => other,
    };
    let locale = match update.locale {
        Some(Some(raw)) => match normalize_locale(&raw) {
            Ok(l) => Some(Some(l)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        other => other,
    };
    if let Some(pw) = &update.password
        && let Err(e) = validate_password(pw)
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let hash = update.password.as_deref().map(|pw| svc.hash_password(pw)).transpose()?;
    let now = svc.now();
    let deactivating = update.is_active == Some(false) && caller.user.is_active;
    let changes = UserChanges {
        first_name: update.first_name,
        last_name: update.last_name,
        phone_number: phone,
        password_hash: hash.clone().map(Some),
        preferences: update.preferences.map(|p| p.map(latchkey_db::Json)),
        locale,
        is_active: update.is_active,
        updated_at: Some(Ts(now)),
    };
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<_, ServiceError> {
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
        Ok(user)
    })
}
