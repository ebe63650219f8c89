//! `AuthUser`: the caller, authenticated by `Authorization: Bearer <access token>` against a live session.
//! A missing or malformed token is a 401, never "anonymous".

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use latchkey_service::Authenticated;
use latchkey_service::auth::{authenticate, messages};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller: their user row and session row.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Authenticated);

impl std::ops::Deref for AuthUser {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some((scheme, token)) = header.and_then(|h| h.split_once(' ')) else {
        return Err(ApiError::unauthorized("Not authenticated"));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized("Not authenticated"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized(messages::BAD_CREDENTIALS));
    }
    Ok(token.to_owned())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token?;
            let state = state.ok_or_else(|| ApiError::internal("AppState missing"))?;
            let services = state.services.clone();
            let caller = web::block(move || authenticate(&services, &token)).await??;
            Ok(AuthUser(caller))
        })
    }
}
