//! `/api/v1/users`: the caller's own account.

use actix_web::{HttpResponse, web};
use latchkey_service::users;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, Envelope, ErrorItem};
use crate::extract::AuthUser;
use crate::responses::{MessageResponse, UserResponse};
use crate::routes::Endpoints;
use crate::state::AppState;
use crate::validation::{Body, Json};

/// The users router's operations and their per-IP limits.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_me, me);
    r.add(__path_update_me, update_me);
    r.add(__path_change_password, change_password).limit(5);
}

/// The caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "users",
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "The caller", body = UserResponse)),
)]
pub async fn me(AuthUser(caller): AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserResponse::from(caller.user))
}

/// `{current_password, new_password}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PasswordChange)]
pub struct PasswordChangeBody {
    current_password: String,
    new_password: String,
}

impl Body for PasswordChangeBody {
    const REQUIRED: &'static [&'static str] = &["current_password", "new_password"];
}

/// Changes the password and ends the caller's other sessions.
#[utoipa::path(
    patch,
    path = "/api/v1/users/me/password",
    tag = "users",
    request_body = PasswordChangeBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Changed", body = MessageResponse),
        (status = 403, description = "The current password is wrong (`AUTH_001`)", body = Envelope),
        (status = 429, description = "Rate limited per client IP, or too many failed password checks for this \
                                      account; `Retry-After` says when to retry", body = Envelope),
        (status = 503, description = "Too many password checks waiting (`SYS_001`); `Retry-After` says when to retry", body = Envelope),
    ),
)]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<PasswordChangeBody>,
) -> Result<HttpResponse, ApiError> {
    users::change_password(&state.services, &caller, body.current_password, body.new_password).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok("Password changed successfully")))
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `UserUpdate`: only the fields present are applied; `email` is not part of it (ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UserUpdate)]
pub struct UserUpdateBody {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    /// `+` or `0` followed by 8 to 14 digits; spaces, hyphens and parentheses are removed first.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "+14155550123")]
    phone_number: Option<Option<String>>,
    /// A new password; needs `current_password`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    password: Option<Option<String>>,
    /// The current password: required with `password` (missing is 422, wrong is 403 `AUTH_001`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    current_password: Option<Option<String>>,
    /// The client's settings: a JSON object of at most 16 KiB (serialized) and 8 levels of nesting.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    preferences: Option<Option<serde_json::Map<String, Value>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "en")]
    locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    is_active: Option<Option<bool>>,
    /// Refused: superuser status is not changed through this endpoint.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    is_superuser: Option<Option<Value>>,
}

impl Body for UserUpdateBody {
    const REQUIRED: &'static [&'static str] = &[];
    const FREE_TEXT: &'static [&'static str] = &["preferences"];
}

impl UserUpdateBody {
    /// Refuses explicit nulls for columns that cannot be null (the reference answers those with a 500)
    /// and any attempt to change `is_superuser`.
    fn into_update(self) -> Result<users::UserUpdate, ApiError> {
        let mut errors = Vec::new();
        let mut required = |field: &str, present_null: bool, message: &'static str| {
            if present_null {
                errors.push(ErrorItem::validation(Some(field.to_owned()), message));
            }
        };
        required("first_name", matches!(self.first_name, Some(None)), "Input should be a valid string");
        required("password", matches!(self.password, Some(None)), "Input should be a valid string");
        required("is_active", matches!(self.is_active, Some(None)), "Input should be a valid boolean");
        if matches!(self.is_superuser, Some(Some(_))) {
            errors.push(ErrorItem::validation(
                Some("is_superuser".into()),
                "Value error, Cannot modify superuser status through user update",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(users::UserUpdate {
            first_name: self.first_name.flatten(),
            last_name: self.last_name,
            phone_number: self.phone_number,
            password: self.password.flatten(),
            current_password: self.current_password.flatten(),
            preferences: self.preferences.map(|p| p.map(Value::Object)),
            locale: self.locale,
            is_active: self.is_active.flatten(),
        })
    }
}

/// Updates the caller's profile: only the fields present change. A new `password` needs
/// `current_password` and ends the other sessions; deactivating yourself ends all of them.
/// `is_superuser` cannot be changed here.
#[utoipa::path(
    patch,
    path = "/api/v1/users/me",
    tag = "users",
    request_body = UserUpdateBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 403, description = "`current_password` is wrong (`AUTH_001`)", body = Envelope),
        (status = 422, description = "Invalid input, or `password` without `current_password`", body = Envelope),
        (status = 429, description = "Too many failed password attempts for this account", body = Envelope),
        (status = 503, description = "Too many password hashes waiting (`SYS_001`); `Retry-After` says when to retry", body = Envelope),
    ),
)]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<UserUpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let update = body.into_update()?;
    let user = users::update_me(&state.services, &caller, update).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}
