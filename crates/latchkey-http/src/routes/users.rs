//! `/api/v1/users`: the caller's own account.

use actix_web::{HttpResponse, web};
use latchkey_service::accounts::{self, UpdateRule};
use latchkey_service::authz;
use latchkey_service::my_account::{self, UserUpdate};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope, ErrorItem};
use crate::extract::body::refuse_nulls;
use crate::extract::list::{backticked, sort_by_param};
use crate::extract::{AuthUser, Body, Json, List, ListSpec, PageParams, SortParams, parse_uuid};
use crate::responses::{MessageResponse, Paginated, UserResponse};
use crate::routes::run;
use crate::state::AppState;

/// The users router's operations and their per-IP limits.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_me, me);
    r.add(__path_update_me, update_me);
    r.add(__path_change_password, change_password).limit(5);
    r.add(__path_list_users, list_users);
    r.add(__path_get_user, get_user);
    r.add(__path_update_user, update_user);
    r.add(__path_delete_user, delete_user);
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
    /// The password policy applies: 12 to 4096 characters with a lower- and an upper-case letter, a digit
    /// and a special character.
    #[schema(min_length = 12, max_length = 4096)]
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
    my_account::change_password(&state.services, &caller, body.current_password, body.new_password).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok("Password changed successfully")))
}

/// `UserUpdate`: only the fields present are applied; `email` is not part of it (ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UserUpdate)]
pub struct UserUpdateBody {
    /// Not null.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = String, max_length = 100)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(schema_with = crate::openapi::fields::phone_number)]
    phone_number: Option<Option<String>>,
    /// A new password (not null); needs `current_password`. The password policy applies: 12 to 4096
    /// characters with a lower- and an upper-case letter, a digit and a special character.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = String, min_length = 12, max_length = 4096)]
    password: Option<Option<String>>,
    /// The current password: required with `password` (missing is 422, wrong is 403 `AUTH_001`).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    current_password: Option<Option<String>>,
    /// The client's settings: a JSON object of at most 16 KiB (serialized) and 8 levels of nesting.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Object>)]
    preferences: Option<Option<serde_json::Map<String, Value>>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(schema_with = crate::openapi::fields::locale)]
    locale: Option<Option<String>>,
    /// Not null.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = bool)]
    is_active: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(schema_with = crate::openapi::fields::null_only)]
    is_superuser: Option<Option<Value>>,
}

impl Body for UserUpdateBody {
    const REQUIRED: &'static [&'static str] = &[];
    const FREE_TEXT: &'static [&'static str] = &["preferences"];
}

impl UserUpdateBody {
    /// Refuses explicit nulls for columns that cannot be null (the reference answers those with a 500)
    /// and any attempt to change `is_superuser`.
    pub(crate) fn into_update(self) -> Result<UserUpdate, ApiError> {
        let mut errors = refuse_nulls(&[
            ("first_name", matches!(self.first_name, Some(None)), "Input should be a valid string"),
            ("password", matches!(self.password, Some(None)), "Input should be a valid string"),
            ("is_active", matches!(self.is_active, Some(None)), "Input should be a valid boolean"),
        ]);
        if matches!(self.is_superuser, Some(Some(_))) {
            errors.push(ErrorItem::validation(
                Some("is_superuser".into()),
                "Value error, Cannot modify superuser status through user update",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(UserUpdate {
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
    let user = my_account::update_me(&state.services, &caller, update).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// `GET /users` reads `is_active`, `is_superuser`, `sort_by` and `sort_order`.
#[derive(Debug)]
pub struct UserList;

impl ListSpec for UserList {
    const SORT_COLUMNS: &'static [&'static str] = accounts::USER_SORT_COLUMNS;
    const FILTERS: &'static [&'static str] = &["is_active", "is_superuser"];
}

/// The user lists' `sort_by`, for their `params(...)`: stated from [`UserList`]'s columns.
impl utoipa::IntoParams for UserList {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let columns = backticked(Self::SORT_COLUMNS, accounts::USER_DEFAULT_SORT.column, "(the default)");
        vec![sort_by_param(Self::SORT_COLUMNS, format!("One of {}; anything else is a 422", columns.join(", ")))]
    }
}

/// Live (not deleted) users, oldest first unless sorted otherwise. Superusers only.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(
        PageParams,
        ("is_active" = Option<bool>, Query, description = "Only active (`true`) or only inactive (`false`) accounts"),
        ("is_superuser" = Option<bool>, Query, description = "Only superusers (`true`) or only normal users (`false`)"),
        SortParams,
        UserList,
    ),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = Paginated<UserResponse>),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
    ),
)]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: AuthUser,
    list: List<UserList>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser(authz::NOT_ENOUGH_PERMISSIONS)?;
    let (query, page) = (list.query.clone(), list.page);
    let users =
        run(&state, move |svc| accounts::list_users(svc, &caller, authz::NOT_ENOUGH_PERMISSIONS, &query)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(users, page, UserResponse::from)))
}

/// A user: yourself, or anyone if you are a superuser (who also sees deleted accounts). Asking about
/// someone else is 403 whether or not they exist.
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 403, description = "Neither yourself nor a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let user = run(&state, move |svc| accounts::view_user(svc, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Updates a user: yourself (as `PATCH /users/me`: a new password needs `current_password`) or, as a
/// superuser, anyone (a new password needs no current password and ends all of their sessions).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    request_body = UserUpdateBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 403, description = "Neither yourself nor a superuser (`AUTH_004`), or a wrong current password (`AUTH_001`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
    Json(body): Json<UserUpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let update = body.into_update()?;
    let user = accounts::update_user(&state.services, &caller, id, update, UpdateRule::SELF_OR_SUPERUSER).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Soft-deletes a user and ends their sessions; the email stays taken. Superusers only, not yourself.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = MessageResponse),
        (status = 403, description = "Not a superuser, or your own account (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Superusers only, checked before the path is: a normal user learns nothing from the answer.
    caller.require_superuser(authz::NOT_ENOUGH_PERMISSIONS)?;
    let id = parse_uuid("user_id", &path)?;
    run(&state, move |svc| accounts::delete_user(svc, &caller, id, authz::NOT_ENOUGH_PERMISSIONS)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("User {id} deleted successfully"))))
}
