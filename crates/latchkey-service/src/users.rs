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
    })
}

/// The same rule failure, reported against another field name.
pub fn relabel(e: DomainError, field: &'static str) -> DomainError {
    match e {
        DomainError::Invalid { message, .. } => DomainError::Invalid { field, message },
        DomainError::Constraint { message, .. } => DomainError::Constraint { field, message },
    }
}
