//! `/api/v1/auth`: register, login (JSON and OAuth2 form), refresh, logout, logout-all, logout-others,
//! password reset.

use actix_web::{HttpResponse, web};
use latchkey_service::auth::{self, Registration};
use latchkey_service::password_reset;
use serde::Deserialize;

use crate::error::{ApiError, ErrorItem};
use crate::extract::{AuthUser, ClientInfo};
use crate::responses::{MessageResponse, TokenResponse, UserResponse};
use crate::routes::run;
use crate::state::AppState;
use crate::validation::{Body, Form, Json};

/// `UserCreate`. `is_superuser` and `is_active` are accepted and ignored: public registration always
/// creates an active, ordinary user.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    email: String,
    password: String,
    first_name: String,
    last_name: Option<String>,
    phone_number: Option<String>,
}

impl Body for RegisterBody {
    const REQUIRED: &'static [&'static str] = &["email", "password", "first_name"];
}

/// `POST /register` → 201 UserResponse.
pub async fn register(state: web::Data<AppState>, Json(body): Json<RegisterBody>) -> Result<HttpResponse, ApiError> {
    let registration = Registration {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        phone_number: body.phone_number,
    };
    let user = run(&state, move |svc| auth::register(svc, &registration)).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(&user)))
}

/// `{email, password}`.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

impl Body for LoginBody {
    const REQUIRED: &'static [&'static str] = &["email", "password"];
}

async fn login_with(
    state: &AppState,
    client: ClientInfo,
    email: String,
    password: String,
) -> Result<HttpResponse, ApiError> {
    let devices = state.devices.clone();
    let tokens = run(state, move |svc| auth::login(svc, &email, &password, &client.device(&devices))).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// `POST /login` → Token.
pub async fn login(
    state: web::Data<AppState>,
    client: ClientInfo,
    Json(body): Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    login_with(&state, client, body.email, body.password).await
}

/// OAuth2's password-grant form.
#[derive(Debug, Deserialize)]
pub struct OAuthForm {
    username: String,
    password: String,
    grant_type: Option<String>,
}

impl Body for OAuthForm {
    const REQUIRED: &'static [&'static str] = &["username", "password"];
}

/// `POST /login/oauth` (form: `username` is the email) → Token.
pub async fn login_oauth(
    state: web::Data<AppState>,
    client: ClientInfo,
    Form(form): Form<OAuthForm>,
) -> Result<HttpResponse, ApiError> {
    if form.grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(ApiError::validation(vec![ErrorItem::validation(
            Some("grant_type".into()),
            "String should match pattern '^password$'",
        )]));
    }
    login_with(&state, client, form.username, form.password).await
}

/// `{refresh_token}`.
#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    refresh_token: String,
}

impl Body for RefreshBody {
    const REQUIRED: &'static [&'static str] = &["refresh_token"];
}

/// `POST /refresh` → Token with a new refresh token.
pub async fn refresh(state: web::Data<AppState>, Json(body): Json<RefreshBody>) -> Result<HttpResponse, ApiError> {
    let tokens = run(&state, move |svc| auth::refresh(svc, &body.refresh_token)).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// `POST /logout` → 200, whatever the token (unless it is someone else's session: 403).
pub async fn logout(
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    if body.refresh_token.chars().count() < 10 {
        return Err(ApiError::validation(vec![ErrorItem::validation(
            Some("refresh_token".into()),
            "String should have at least 10 characters",
        )]));
    }
    run(&state, move |svc| auth::logout(svc, &caller, &body.refresh_token)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok("Logged out successfully")))
}

/// `POST /logout-all`: ends every session of the caller, this one included.
pub async fn logout_all(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| auth::logout_many(svc, &caller, false)).await?;
    Ok(HttpResponse::Ok()
        .json(MessageResponse::ok(format!("Successfully logged out from all devices ({n} sessions terminated)"))))
}

/// `POST /logout-others`: ends every session of the caller but this one.
pub async fn logout_others(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| auth::logout_many(svc, &caller, true)).await?;
    let noun = if n == 1 { "device" } else { "devices" };
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Logged out from {n} other {noun}"))))
}

/// `{email}`.
#[derive(Debug, Deserialize)]
pub struct ResetRequestBody {
    email: String,
}

impl Body for ResetRequestBody {
    const REQUIRED: &'static [&'static str] = &["email"];
}

/// `POST /password-reset/request`: always the same 200 for a valid email.
pub async fn reset_request(
    state: web::Data<AppState>,
    Json(body): Json<ResetRequestBody>,
) -> Result<HttpResponse, ApiError> {
    match run(&state, move |svc| password_reset::request_reset(svc, &body.email)).await {
        Ok(()) => {}
        // A bad email is the caller's to fix; anything else must not reveal whether the account exists.
        Err(e) if e.status_code_u16() == 422 => return Err(e),
        Err(e) => tracing::error!(error = %e, "password-reset request failed"),
    }
    Ok(HttpResponse::Ok()
        .json(MessageResponse::ok("If your email is registered, you will receive a password reset link shortly")))
}

/// `{token, new_password}`.
#[derive(Debug, Deserialize)]
pub struct ResetConfirmBody {
    token: String,
    new_password: String,
}

impl Body for ResetConfirmBody {
    const REQUIRED: &'static [&'static str] = &["token", "new_password"];
}

/// `POST /password-reset/confirm`: sets the password and ends every session.
pub async fn reset_confirm(
    state: web::Data<AppState>,
    Json(body): Json<ResetConfirmBody>,
) -> Result<HttpResponse, ApiError> {
    if body.new_password.chars().count() < 8 {
        return Err(ApiError::validation(vec![ErrorItem::validation(
            Some("new_password".into()),
            "String should have at least 8 characters",
        )]));
    }
    run(&state, move |svc| password_reset::confirm_reset(svc, &body.token, &body.new_password)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(
        "Password has been reset successfully. All devices have been logged out for security. You can now log in \
         with your new password.",
    )))
}
