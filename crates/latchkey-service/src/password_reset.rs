//! Password reset by email: a link with a single-use, one-hour token.

use std::sync::Arc;

use latchkey_auth::{AuthError, password_fingerprint};
use latchkey_db::repo::{sessions, users};
use latchkey_db::{Ts, write_transaction};
use latchkey_domain::{Email, RevokeReason, SecurityEventKind, validate_password_as};

use crate::counters;
use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::mail::password_reset_email;
use crate::services::Services;

/// The message for any bad, expired, tampered or already-used token.
pub const INVALID_TOKEN: &str = "Invalid or expired password reset token";

/// `POST /auth/password-reset/request`: when the email belongs to an active account, queues a reset link
/// for it. The caller learns nothing either way: the answer is the same, and on the request path a known
/// address costs one lookup, an HMAC and a non-blocking push onto the mail queue, an unknown one the same
/// lookup: sending happens on the mail thread.
pub fn request_reset(svc: &Services, email: &str) -> Result<(), ServiceError> {
    let email = Email::parse(email)?;
    let mut conn = svc.db.conn()?;
    let Some(user) = users::find_by_email(&mut conn, email.as_str())? else { return Ok(()) };
    if !user.is_active || user.deleted_at.is_some() {
        return Ok(());
    }
    let token = svc.reset_tokens.issue(user.id.0, &password_fingerprint(user.password_hash.as_deref()), svc.now());
    let link = format!("{}{}?token={token}", svc.frontend_url, svc.reset_password_path);
    svc.mail.enqueue(password_reset_email(&user.email, &link));
    counters::password_reset_requested();
    Ok(())
}

/// `POST /auth/password-reset/confirm`: sets the new password and ends every session of the user. The
/// token is bound to the old password hash, and the write is a compare-and-swap on that hash, so the token
/// works exactly once even when confirmations race. The new password is hashed on the hashing pool between
/// the check and the write.
pub async fn confirm_reset(svc: &Arc<Services>, token: String, new_password: String) -> Result<(), ServiceError> {
    validate_password_as("new_password", &new_password)?;
    let claims = match svc.reset_tokens.verify(&token, svc.now()) {
        Ok(c) => c,
        Err(AuthError::Expired | AuthError::Invalid | AuthError::WrongType | AuthError::Hash(_)) => {
            return Err(ServiceError::BadRequest(INVALID_TOKEN));
        }
    };
    let ticket = svc.hashing.ticket().await?;
    let user = svc
        .blocking(move |svc| {
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
            Ok(user)
        })
        .await?;
    let hash = ticket.hash(new_password).await?;
    svc.blocking(move |svc| {
        let now = svc.now();
        let mut conn = svc.db.conn()?;
        let ended = write_transaction(&mut conn, |c| -> Result<usize, ServiceError> {
            // Exactly one confirmation can swap out the hash the token was issued for; the others find it
            // changed (on PostgreSQL they wait for the winner's row lock, then re-check) and fail.
            if !users::swap_password_hash(c, user.id.0, user.password_hash.as_deref(), &hash, Ts(now))? {
                return Err(ServiceError::BadRequest(INVALID_TOKEN));
            }
            let ended = sessions::revoke_all(c, user.id.0, None, RevokeReason::PasswordReset.as_str(), Ts(now))?;
            record_event(
                c,
                now,
                SecurityEventKind::PasswordReset,
                EventContext { user_id: Some(user.id.0), ..EventContext::default() },
                Some(serde_json::json!({"sessions_ended": ended})),
            )?;
            Ok(ended)
        })?;
        svc.cache.forget_users(&[user.id.0]);
        counters::password_reset_completed();
        counters::sessions_revoked(RevokeReason::PasswordReset.as_str(), ended);
        Ok(())
    })
    .await
}
