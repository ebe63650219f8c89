//! The tokens a session hands out: the access and refresh pair a login opens a session with and a refresh
//! rotates, signed here for both.

use chrono::{DateTime, Utc};
use latchkey_auth::{AccessClaims, RefreshClaims, TokenType};
use latchkey_db::models::UserRow;

use crate::error::ServiceError;
use crate::services::Services;
use crate::views::User;

/// Tokens for a session, plus the user they belong to.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    pub user: User,
    pub session_id: uuid::Uuid,
    /// A login's device token (see `latchkey_auth::DeviceTokens`): the client keeps it, and a later login
    /// that presents it is not shut out by a lockout of the account. `None` for a refresh.
    pub device_token: Option<String>,
}

/// Signs the pair of tokens for a session.
pub(crate) fn sign_tokens(
    svc: &Services,
    user: &UserRow,
    session_id: uuid::Uuid,
    refresh_jti: uuid::Uuid,
    now: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
) -> Result<(String, String), ServiceError> {
    let access = AccessClaims {
        sub: user.id.0,
        exp: (now + svc.policy.lifetimes.access).timestamp(),
        iat: now.timestamp(),
        jti: uuid::Uuid::new_v4(),
        token_type: TokenType::Access,
        sid: session_id,
        is_superuser: user.is_superuser,
        email: user.email.clone(),
        first_name: user.first_name.clone(),
    };
    let refresh = RefreshClaims {
        sub: user.id.0,
        exp: refresh_expires_at.timestamp(),
        iat: now.timestamp(),
        jti: refresh_jti,
        token_type: TokenType::Refresh,
        sid: session_id,
    };
    Ok((svc.tokens.encode_access(&access)?, svc.tokens.encode_refresh(&refresh)?))
}
