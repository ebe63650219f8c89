//! `/api/v1/users`: the caller's own account.

use actix_web::{HttpResponse, web};
use latchkey_service::users;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::responses::{MessageResponse, UserResponse};
use crate::routes::run;
use crate::state::AppState;
use crate::validation::{Body, Json};

/// `GET /me`.
pub async fn me(caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserResponse::from(&caller.user))
}

/// `{current_password, new_password}`.
#[derive(Debug, Deserialize)]
pub struct PasswordChangeBody {
    current_password: String,
    new_password: String,
}

impl Body for PasswordChangeBody {
    const REQUIRED: &'static [&'static str] = &["current_password", "new_password"];
}

/// `PATCH /me/password`: changes the password and ends the caller's other sessions.
pub async fn change_password(
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<PasswordChangeBody>,
) -> Result<HttpResponse, ApiError> {
    run(&state, move |svc| users::change_password(svc, &caller, &body.current_password, &body.new_password)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok("Password changed successfully")))
}
