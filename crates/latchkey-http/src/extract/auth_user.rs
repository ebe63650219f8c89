//! `AuthUser`: the caller, authenticated by `Authorization: Bearer <access token>` against a live session.
//! A missing or malformed token is a 401, never "anonymous". `AdminUser`: the same, and a superuser.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::Either;
use latchkey_service::Authenticated;
use latchkey_service::authz;
use latchkey_service::caller::messages;
use latchkey_service::door::{Door, authenticate_valid, check_cached};

use crate::error::ApiError;
use crate::state::AppState;

/// The bearer token of the request, not yet checked: for a handler that authenticates inside its own
/// database visit (as `GET /sessions/me` does in one query: `latchkey_service::sessions::authenticate_and_list`),
/// saving the separate hop `AuthUser` costs. Missing or malformed, it is the same 401 as `AuthUser`'s.
#[derive(Debug, Clone)]
pub struct Bearer(pub String);

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer(req).map(Bearer))
    }
}

/// The authenticated caller: their account and session.
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

/// The check runs on the event loop as far as it can without waiting: the token is verified and the
/// session cache asked there. Only a miss goes to the database, on the blocking pool.
impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Either<Ready<Result<Self, ApiError>>, Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return Either::Left(ready(Err(ApiError::internal("AppState missing"))));
        };
        let door = bearer(req).and_then(|token| Ok(check_cached(&state.services, &token)?));
        match door {
            Err(e) => Either::Left(ready(Err(e))),
            Ok(Door::Admitted(caller)) => Either::Left(ready(Ok(AuthUser(caller)))),
            Ok(Door::AskDatabase(token)) => {
                let services = Arc::clone(&state.services);
                Either::Right(Box::pin(async move {
                    let caller = services.blocking(move |svc| authenticate_valid(svc, token)).await?;
                    Ok(AuthUser(caller))
                }))
            }
        }
    }
}

/// An authenticated superuser: what every `/api/v1/admin` route takes. Anyone else who is logged in gets
/// 403 `AUTH_004` "Superuser privileges required" (401 first, without a valid token).
#[derive(Debug, Clone)]
pub struct AdminUser(pub Authenticated);

impl std::ops::Deref for AdminUser {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let AuthUser(caller) = caller.await?;
            caller.require_superuser(authz::SUPERUSER_REQUIRED)?;
            Ok(AdminUser(caller))
        })
    }
}
