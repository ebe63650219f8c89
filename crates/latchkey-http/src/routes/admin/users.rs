//! `/api/v1/admin/users`: list, search, create, read, update, delete, activate, deactivate, bulk actions,
//! and a user's sessions. Every change ends the sessions it must (deactivation, deletion, an admin-set
//! password) and is recorded in the audit trail with the acting administrator.

use actix_web::{HttpResponse, web};
use latchkey_service::accounts::{self, NewAccount, UpdateRule};
use latchkey_service::bulk::{self, BulkAction};
use latchkey_service::{admin_sessions, authz};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope, ErrorItem};
use crate::extract::{AdminUser, Body, LaterJson, List, ListSpec, PageOnly, PageParams, SortParams, parse_uuid};
use crate::pydantic::UUID_TYPE;
use crate::responses::{AdminSessionResponse, BulkActionResponse, MessageResponse, Paginated, UserResponse};
use crate::routes::run;
use crate::routes::users::{UserList, UserUpdateBody};
use crate::state::AppState;

/// This area's operations (none is rate limited, as in the reference).
pub fn routes(r: &mut Endpoints) {
    r.add(__path_list, list);
    r.add(__path_create, create);
    r.add(__path_bulk_action, bulk_action);
    r.add(__path_read, read);
    r.add(__path_update, update);
    r.add(__path_delete, delete);
    r.add(__path_activate, activate);
    r.add(__path_deactivate, deactivate);
    r.add(__path_sessions, sessions);
    r.add(__path_revoke_sessions, revoke_sessions);
}

/// The admin list: the users list plus `search`.
#[derive(Debug)]
pub struct AdminUserList;

impl ListSpec for AdminUserList {
    const SORT_COLUMNS: &'static [&'static str] = <UserList as ListSpec>::SORT_COLUMNS;
    const SEARCH: bool = true;
    const FILTERS: &'static [&'static str] = <UserList as ListSpec>::FILTERS;
}

/// Live (not deleted) users, oldest first unless sorted otherwise; `search` matches email, first name or
/// last name, case-insensitively.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    params(
        PageParams,
        ("is_active" = Option<bool>, Query, description = "Only active (`true`) or only inactive (`false`) accounts"),
        ("is_superuser" = Option<bool>, Query, description = "Only superusers (`true`) or only normal users (`false`)"),
        SortParams,
        UserList,
        ("search" = Option<String>, Query, description = "Part of the email, first name or last name (any case)"),
    ),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = Paginated<UserResponse>),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    list: List<AdminUserList>,
) -> Result<HttpResponse, ApiError> {
    let (query, page) = (list.query.clone(), list.page);
    let users = run(&state, move |svc| accounts::list_users(svc, &admin, authz::SUPERUSER_REQUIRED, &query)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(users, page, UserResponse::from)))
}

/// `UserCreate` as an administrator sends it: `is_superuser` is honoured here.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AdminUserCreate)]
pub struct UserCreateBody {
    #[schema(example = "ada@example.com", format = Email)]
    email: String,
    /// The password policy applies: 12 to 4096 characters with a lower- and an upper-case letter, a digit
    /// and a special character.
    #[schema(min_length = 12, max_length = 4096)]
    password: String,
    #[schema(max_length = 100)]
    first_name: String,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    #[schema(schema_with = crate::openapi::fields::phone_number)]
    phone_number: Option<String>,
    #[serde(default)]
    is_superuser: bool,
}

impl Body for UserCreateBody {
    const REQUIRED: &'static [&'static str] = &["email", "password", "first_name"];
}

/// Creates an active account.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "admin",
    request_body = UserCreateBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 201, description = "The new user", body = UserResponse),
        (status = 409, description = "The email is taken (`USER_002`)", body = Envelope),
    ),
)]
pub async fn create(state: web::Data<AppState>, admin: AdminUser, body: LaterJson) -> Result<HttpResponse, ApiError> {
    let body: UserCreateBody = body.parse().await?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        phone_number: body.phone_number,
        is_superuser: body.is_superuser,
    };
    let user = accounts::create_user(&state.services, &admin, account).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

/// Any account, soft-deleted ones included.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{user_id}",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn read(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let user = run(&state, move |svc| accounts::get_user(svc, &admin, id)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Updates an account (partially, despite PUT). A new password needs no current password and ends all of
/// the user's sessions; `is_active: false` ends them too. Your own account cannot be deactivated here.
#[utoipa::path(
    put,
    path = "/api/v1/admin/users/{user_id}",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    request_body = UserUpdateBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 403, description = "Deactivating yourself (`AUTH_007`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
    body: LaterJson,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let update = body.parse::<UserUpdateBody>().await?.into_update()?;
    let user = accounts::update_user(&state.services, &admin, id, update, UpdateRule::SUPERUSERS).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Soft-deletes an account and ends its sessions; the email stays taken. Not your own account.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{user_id}",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = MessageResponse),
        (status = 403, description = "Your own account (`AUTH_007`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let user = run(&state, move |svc| accounts::delete_user(svc, &admin, id, authz::SUPERUSER_REQUIRED)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("User {} has been deleted", user.email))))
}

/// Activates an account (its ended sessions stay ended).
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{user_id}/activate",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Activated", body = MessageResponse),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn activate(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let user = run(&state, move |svc| accounts::set_active(svc, &admin, id, true)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("User {} has been activated", user.email))))
}

/// Deactivates an account and ends all of its sessions. Not your own account.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{user_id}/deactivate",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Deactivated", body = MessageResponse),
        (status = 403, description = "Your own account (`AUTH_007`)", body = Envelope),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn deactivate(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let user = run(&state, move |svc| accounts::set_active(svc, &admin, id, false)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("User {} has been deactivated", user.email))))
}

/// `{"action": "activate"|"deactivate"|"delete", "user_ids": [...]}` (1 to 100 ids).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = BulkUserAction)]
pub struct BulkBody {
    #[schema(schema_with = crate::openapi::fields::bulk_action)]
    action: serde_json::Value,
    #[schema(value_type = Vec<Uuid>, min_items = 1, max_items = 100)]
    user_ids: Vec<serde_json::Value>,
}

impl Body for BulkBody {
    const REQUIRED: &'static [&'static str] = &["action", "user_ids"];
}

impl BulkBody {
    /// The action and ids, with pydantic's messages for what is wrong.
    fn parse(self) -> Result<(BulkAction, Vec<uuid::Uuid>), ApiError> {
        let mut errors = Vec::new();
        let action = match self.action.as_str() {
            Some("activate") => Some(BulkAction::Activate),
            Some("deactivate") => Some(BulkAction::Deactivate),
            Some("delete") => Some(BulkAction::Delete),
            _ => {
                errors.push(ErrorItem::validation(
                    Some("action".into()),
                    "Input should be 'activate', 'deactivate' or 'delete'",
                ));
                None
            }
        };
        let n = self.user_ids.len();
        if n == 0 {
            errors.push(ErrorItem::validation(
                Some("user_ids".into()),
                "List should have at least 1 item after validation, not 0",
            ));
        } else if n > 100 {
            errors.push(ErrorItem::validation(
                Some("user_ids".into()),
                format!("List should have at most 100 items after validation, not {n}"),
            ));
        }
        let mut ids = Vec::with_capacity(n);
        for (i, raw) in self.user_ids.iter().enumerate() {
            let field = format!("user_ids.{i}");
            match raw.as_str() {
                Some(s) => match parse_uuid(&field, s) {
                    Ok(id) => ids.push(id),
                    Err(e) => errors.extend(e.errors().iter().cloned()),
                },
                None => errors.push(ErrorItem::validation(Some(field), UUID_TYPE)),
            }
        }
        match action {
            Some(action) if errors.is_empty() => Ok((action, ids)),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// Activates, deactivates or deletes many accounts at once. Deactivate and delete skip the caller and end
/// the affected users' sessions; unknown and deleted ids are skipped.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/bulk-action",
    tag = "admin",
    request_body = BulkBody,
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "What happened", body = BulkActionResponse)),
)]
pub async fn bulk_action(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: LaterJson,
) -> Result<HttpResponse, ApiError> {
    let (action, ids) = body.parse::<BulkBody>().await?.parse()?;
    let out = run(&state, move |svc| bulk::bulk_action(svc, &admin, action, &ids)).await?;
    Ok(HttpResponse::Ok().json(BulkActionResponse {
        success: out.skipped == 0,
        affected_count: out.affected,
        failed_count: out.skipped,
        message: format!("Bulk {}: {} users affected, {} skipped", action.as_str(), out.affected, out.skipped),
        failed_ids: None,
    }))
}

/// *Addition*: the user's active sessions, most recently used first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{user_id}/sessions",
    tag = "admin",
    params(("user_id" = Uuid, Path), PageParams),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of sessions", body = Paginated<AdminSessionResponse>),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn sessions(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
    list: List<PageOnly>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let page = list.page;
    let sessions = run(&state, move |svc| admin_sessions::user_sessions(svc, &admin, id, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(sessions, page, AdminSessionResponse::from)))
}

/// *Addition*: ends every session of the user.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{user_id}/revoke-sessions",
    tag = "admin",
    params(("user_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "How many ended", body = MessageResponse),
        (status = 404, description = "No such user (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn revoke_sessions(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("user_id", &path)?;
    let (user, n) = run(&state, move |svc| admin_sessions::revoke_user_sessions(svc, &admin, id)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Revoked {n} sessions for {}", user.email))))
}
