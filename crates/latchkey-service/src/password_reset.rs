//! Password reset by email: a link with a single-use, one-hour token.

use latchkey_auth::{AuthError, password_fingerprint};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{Email, RevokeReason, SecurityEventKind, validate_password};

use crate::error::ServiceError;
use crate::mail::password_reset_email;
use crate::services::{EventContext, Services, record_event};
use crate::users::relabel;

/// The message for any bad, expired, tampered or already-used token.
pub const INVALID_TOKEN: &str = "Invalid or expired password reset token";

/// `POST /auth/password-reset/request`: when the email belongs to an active account, sends it a reset
/// link. The caller learns nothing either way: the answer (and, with the log backend, the timing) is the
/// same, and sending happens off the request's thread.
pub fn request_reset(svc: &Services, email: &str) -> Result<(), ServiceError> {
    let email = Email::parse(email)?;
    let mut conn = svc.db.conn()?;
    let Some(user) = users::find_by_email(&mut conn, email.as_str())? else { return Ok(()) };
    if !user.is_active || user.deleted_at.is_some() {
        return Ok(());
    }
    let token = svc.reset_tokens.issue(user.id.0, &password_fingerprint(user.password_hash.as_deref()), svc.now());
    let link = format!("{}{}?token={token}", svc.frontend_url, svc.reset_password_path);
    let message = password_reset_email(&user.email, &link);
    let mailer = svc.mailer.clone();
    std::thread::spawn(move || {
        if let Err(e) = mailer.send(&message) {
            tracing::error!(error = %e, "sending the password-reset email failed");
        }
    });
    Ok(())
}

/// `POST /auth/password-reset/confirm`: sets the new password and ends every session of the user. The
/// token is bound to the old password hash, so it works once.
pub fn confirm_reset(svc: &Services, token: &str, new_password: &str) -> Result<(), ServiceError> {
    validate_password(new_password).map_err(|e| relabel(e, "new_password"))?;
    let now = svc.now();
    let claims = match svc.reset_tokens.verify(token, now) {
        Ok(c) => c,
        Err(AuthError::Expired | AuthError::Invalid | AuthError::WrongType | AuthError::Hash(_)) => {
            return Err(ServiceError::BadRequest(INVALID_TOKEN));
        }
    };
    let mut conn = svc.db.conn()?;
    let user = users::find_by_id(&mut conn, claims.user_id)?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| ServiceError::NotFound("User not found".into()))?;
    if !claims.matches_fingerprint(&password_fingerprint(user.password_hash.as_deref())) {
        return Err(ServiceError::BadRequest(INVALID_TOKEN));
    }
    if !user.is_active {
        return Err(ServiceError::BadRequest("User account is inactive"));
    }
    let hash = svc.hash_password(new_password)?;
    let expected_hash = user.password_hash.clone();
    write_transaction(&mut conn, |c| -> Result<(), ServiceError> {
        // Re-check inside the transaction so two confirmations with one token cannot both succeed.
        let current = users::find_by_id(c, user.id.0)?.and_then(|u| u.password_hash);
        if current != expected_hash {
            return Err(ServiceError::BadRequest(INVALID_TOKEN));
        }
        users::set_password_hash(c, user.id.0, &hash, Ts(now))?;
        let ended = sessions::revoke_all(c, user.id.0, None, RevokeReason::PasswordReset.as_str(), Ts(now))?;
        record_event(
            c,
            now,
            SecurityEventKind::PasswordReset,
            EventContext { user_id: Some(user.id.0), ..EventContext::default() },
            Some(serde_json::json!({"sessions_ended": ended})),
        )?;
        Ok(())
    })
}
