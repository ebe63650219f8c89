//! `/api/v1/auth`: register, login (JSON and OAuth2 form), refresh, logout, logout-all, logout-others,
//! password reset.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_service::password_reset;
use latchkey_service::registration::{self, Registration};
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::{login, logout, refresh};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope, ErrorItem};
use crate::extract::{AuthUser, Body, ClientInfo, Form, Json, request_ip};
use crate::openapi::RateLimited;
use crate::responses::{MessageResponse, TokenResponse, UserResponse};
use crate::routes::run;
use crate::state::AppState;

/// The auth router's operations and their per-IP limits (the reference's production values).
pub fn routes(r: &mut Endpoints) {
    r.add(__path_register, register).limit(5);
    r.add(__path_login, login).limit(10);
    r.add(__path_login_oauth, login_oauth).limit(10);
    r.add(__path_refresh, refresh).limit(30);
    r.add(__path_logout, logout).limit(10);
    r.add(__path_logout_all, logout_all).limit(5);
    r.add(__path_logout_others, logout_others).limit(5);
    r.add(__path_reset_request, reset_request).limit(3);
    r.add(__path_reset_confirm, reset_confirm).limit(5);
}

/// `UserCreate`. `is_superuser` and `is_active` are accepted and ignored: public registration always
/// creates an active, ordinary user.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UserCreate)]
pub struct RegisterBody {
    #[schema(example = "ada@example.com", format = Email)]
    email: String,
    /// At least 12 characters with a lower- and an upper-case letter, a digit and a special character.
    #[schema(example = "Correct-Horse-9!", min_length = 12, max_length = 4096)]
    password: String,
    #[schema(max_length = 100)]
    first_name: String,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    #[schema(schema_with = crate::openapi::fields::phone_number)]
    phone_number: Option<String>,
}

impl Body for RegisterBody {
    const REQUIRED: &'static [&'static str] = &["email", "password", "first_name"];
}

/// Creates an account. Always an active, ordinary user: `is_superuser` and `is_active` in the body are
/// ignored.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The new user", body = UserResponse),
        (status = 400, description = "Registration failed, e.g. the email is taken (`VAL_006`, the reference's \
                                      answer, which does not say which)", body = Envelope),
        (status = 429, response = RateLimited),
        (status = 503, description = "Too many password hashes waiting (`SYS_001`); `Retry-After` says when to retry", body = Envelope),
    ),
)]
pub async fn register(state: web::Data<AppState>, Json(body): Json<RegisterBody>) -> Result<HttpResponse, ApiError> {
    let registration = Registration {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        phone_number: body.phone_number,
    };
    let user = registration::register(&state.services, registration).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

/// `{email, password}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginBody {
    #[schema(example = "ada@example.com", format = Email)]
    email: String,
    #[schema(example = "Correct-Horse-9!")]
    password: String,
}

impl Body for LoginBody {
    const REQUIRED: &'static [&'static str] = &["email", "password"];
}

/// The cookie a login leaves with the client: its device token (see `latchkey_auth::DeviceTokens`).
pub const DEVICE_COOKIE: &str = "latchkey_device";
/// The header a login answers the device token in, and a client may send it back in (apps without cookies).
pub const DEVICE_TOKEN_HEADER: &str = "x-device-token";

/// The device token a client presents: the `X-Device-Token` header, else the `latchkey_device` cookie.
fn presented_device_token(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get(DEVICE_TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::trim);
    header
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| req.cookie(DEVICE_COOKIE).map(|c| c.value().to_owned()))
}

async fn login_with(
    state: &AppState,
    req: &HttpRequest,
    client: ClientInfo,
    email: String,
    password: String,
) -> Result<HttpResponse, ApiError> {
    let devices = state.devices.clone();
    let credentials = login::Credentials { email: &email, password, device_token: presented_device_token(req) };
    let tokens = login::login_from(&state.services, credentials, move || client.device(&devices)).await?;
    let mut res = token_response(tokens.clone());
    if let Some(token) = tokens.device_token {
        let cookie = Cookie::build(DEVICE_COOKIE, token.clone())
            .path("/api/v1/auth")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.config.is_production())
            .max_age(CookieDuration::days(state.config.sessions.known_device_days))
            .finish();
        res.add_cookie(&cookie).map_err(|e| ApiError::internal(format!("device cookie: {e}")))?;
        let value = HeaderValue::from_str(&token).map_err(|e| ApiError::internal(format!("device token: {e}")))?;
        res.headers_mut().insert(HeaderName::from_static(DEVICE_TOKEN_HEADER), value);
    }
    Ok(res)
}

/// 200 with the tokens, marked uncacheable (RFC 6749 §5.1): no browser, proxy or CDN may keep a copy of
/// a response that carries credentials.
fn token_response(tokens: IssuedTokens) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse::from(tokens))
}

/// Logs in: a new session for this device, and its tokens.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    params(
        ("X-Device-Id" = Option<String>, Header, nullable = false, max_length = 255, description = "The client's own stable device id (at most 255 characters), stored with the session"),
        ("X-Device-Token" = Option<String>, Header, nullable = false, description = "The device token a previous login of this device answered (or the `latchkey_device` cookie): while the account is locked by failed logins, a login presenting a valid device token of that account is still checked, against the device's own budget of 5 failures"),
    ),
    responses(
        (status = 200, description = "The tokens and the user; the device token in `X-Device-Token` and the `latchkey_device` cookie", body = TokenResponse,
            headers(("X-Device-Token" = String, description = "This device's token: send it back (or keep the cookie) on later logins"))),
        (status = 401, description = "Wrong email or password, or an inactive account (`AUTH_001`)", body = Envelope),
        (status = 429, description = "Rate limited per client IP, or too many failed logins for this account; \
                                      `Retry-After` says when to retry", body = Envelope),
        (status = 503, description = "Too many password checks waiting (`SYS_001`): the login was shed; \
                                      `Retry-After` says when to retry", body = Envelope),
    ),
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    Json(body): Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    login_with(&state, &req, client, body.email, body.password).await
}

/// OAuth2's password-grant form.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = OAuth2PasswordRequestForm)]
pub struct OAuthForm {
    /// The account's email.
    #[schema(format = Email)]
    username: String,
    password: String,
    /// `password` when given.
    #[schema(nullable = false, pattern = "^password$")]
    grant_type: Option<String>,
}

impl Body for OAuthForm {
    const REQUIRED: &'static [&'static str] = &["username", "password"];
}

/// OAuth2's password grant, as a form (`username` is the email): what Swagger UI's "Authorize" uses.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login/oauth",
    tag = "auth",
    request_body(content = OAuthForm, content_type = "application/x-www-form-urlencoded"),
    params(
        ("X-Device-Id" = Option<String>, Header, nullable = false, max_length = 255, description = "The client's own stable device id (at most 255 characters), stored with the session"),
        ("X-Device-Token" = Option<String>, Header, nullable = false, description = "The device token a previous login of this device answered (or the `latchkey_device` cookie): while the account is locked by failed logins, a login presenting a valid device token of that account is still checked, against the device's own budget of 5 failures"),
    ),
    responses(
        (status = 200, description = "The tokens and the user; the device token in `X-Device-Token` and the `latchkey_device` cookie", body = TokenResponse,
            headers(("X-Device-Token" = String, description = "This device's token: send it back (or keep the cookie) on later logins"))),
        (status = 401, description = "Wrong email or password, or an inactive account (`AUTH_001`)", body = Envelope),
        (status = 429, description = "Rate limited per client IP, or too many failed logins for this account; \
                                      `Retry-After` says when to retry", body = Envelope),
        (status = 503, description = "Too many password checks waiting (`SYS_001`): the login was shed; \
                                      `Retry-After` says when to retry", body = Envelope),
    ),
)]
pub async fn login_oauth(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    Form(form): Form<OAuthForm>,
) -> Result<HttpResponse, ApiError> {
    if form.grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(ApiError::validation(vec![ErrorItem::validation(
            Some("grant_type".into()),
            "String should match pattern '^password$'",
        )]));
    }
    login_with(&state, &req, client, form.username, form.password).await
}

/// `{refresh_token}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RefreshTokenRequest)]
pub struct RefreshBody {
    /// A refresh token (logout refuses fewer than 10 characters; refresh answers 401 to any bad token).
    #[schema(min_length = 10)]
    refresh_token: String,
}

impl Body for RefreshBody {
    const REQUIRED: &'static [&'static str] = &["refresh_token"];
}

/// Rotates the refresh token: the answer carries a new pair, and the presented token stops working.
/// Presenting an already-rotated token again is reuse: the session is revoked (unless it happened within
/// a few seconds of the rotation, as a client's concurrent double refresh does).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access and refresh token", body = TokenResponse),
        (status = 401, description = "Invalid, expired, reused or revoked refresh token (`AUTH_006`)", body = Envelope),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    // The session follows its client's address (and place) when it refreshes from another.
    let ip = request_ip(&req);
    let tokens = run(&state, move |svc| refresh::refresh(svc, &body.refresh_token, ip)).await?;
    Ok(token_response(tokens))
}

/// Ends the session the refresh token belongs to. Succeeds for an invalid or expired token (there is
/// nothing left to end); 403 if it is someone else's session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = MessageResponse),
        (status = 429, response = RateLimited),
    ),
)]
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
    run(&state, move |svc| logout::logout(svc, &caller, &body.refresh_token)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok("Logged out successfully")))
}

/// Ends every session of the caller, this one included.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-all",
    tag = "auth",
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "How many sessions ended", body = MessageResponse),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn logout_all(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| logout::logout_many(svc, &caller, false)).await?;
    Ok(HttpResponse::Ok()
        .json(MessageResponse::ok(format!("Successfully logged out from all devices ({n} sessions terminated)"))))
}

/// Ends every session of the caller but this one.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-others",
    tag = "auth",
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "How many other sessions ended", body = MessageResponse),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn logout_others(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| logout::logout_many(svc, &caller, true)).await?;
    let noun = if n == 1 { "device" } else { "devices" };
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Logged out from {n} other {noun}"))))
}

/// `{email}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PasswordResetRequest)]
pub struct ResetRequestBody {
    #[schema(example = "ada@example.com", format = Email)]
    email: String,
}

impl Body for ResetRequestBody {
    const REQUIRED: &'static [&'static str] = &["email"];
}

/// Emails a password-reset link if the account exists. The answer is the same either way.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password-reset/request",
    tag = "auth",
    request_body = ResetRequestBody,
    responses(
        (status = 200, description = "Accepted (whether or not the email is registered)", body = MessageResponse),
        (status = 429, response = RateLimited),
    ),
)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PasswordResetConfirm)]
pub struct ResetConfirmBody {
    token: String,
    /// The password policy applies: 12 to 4096 characters with a lower- and an upper-case letter, a digit
    /// and a special character.
    #[schema(min_length = 12, max_length = 4096)]
    new_password: String,
}

impl Body for ResetConfirmBody {
    const REQUIRED: &'static [&'static str] = &["token", "new_password"];
}

/// Sets a new password with the emailed token (single use, valid one hour) and ends every session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password-reset/confirm",
    tag = "auth",
    request_body = ResetConfirmBody,
    responses(
        (status = 200, description = "Password reset; every device was logged out", body = MessageResponse),
        (status = 400, description = "Invalid, used or expired token, or an inactive account (`VAL_006`)", body = Envelope),
        (status = 429, response = RateLimited),
        (status = 503, description = "Too many password hashes waiting (`SYS_001`); `Retry-After` says when to retry", body = Envelope),
    ),
)]
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
    password_reset::confirm_reset(&state.services, body.token, body.new_password).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(
        "Password has been reset successfully. All devices have been logged out for security. You can now log in \
         with your new password.",
    )))
}
