//! `/api/v1/admin/sessions`: every user's sessions, and revoking any one of them.

use actix_web::{HttpResponse, web};
use latchkey_service::admin_sessions;

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope};
use crate::extract::{AdminUser, List, ListSpec, PageParams, parse_uuid};
use crate::responses::{AdminSessionResponse, MessageResponse, Paginated};
use crate::routes::run;
use crate::state::AppState;

/// This area's operations.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_list, list);
    r.add(__path_revoke, revoke);
}

/// `GET /admin/sessions` reads `is_active`.
#[derive(Debug)]
pub struct SessionList;

impl ListSpec for SessionList {
    const FILTERS: &'static [&'static str] = &["is_active"];
}

/// Sessions of all users, most recently used first, each with its user.
#[utoipa::path(
    get,
    path = "/api/v1/admin/sessions",
    tag = "admin",
    params(
        PageParams,
        ("is_active" = Option<bool>, Query, description = "Omitted or `true`: active, unexpired sessions only; `false`: every session, ended ones included"),
    ),
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "One page of sessions", body = Paginated<AdminSessionResponse>)),
)]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    list: List<SessionList>,
) -> Result<HttpResponse, ApiError> {
    let page = list.page;
    let only_active = list.filter("is_active").unwrap_or(true);
    let sessions = run(&state, move |svc| admin_sessions::list_sessions(svc, &admin, only_active, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(sessions, page, AdminSessionResponse::from)))
}

/// *Addition*: ends any session at once (its access and refresh tokens stop working); its owner sees the
/// revocation in their history.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/sessions/{session_id}",
    tag = "admin",
    params(("session_id" = Uuid, Path)),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = MessageResponse),
        (status = 404, description = "No such session (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("session_id", &path)?;
    let s = run(&state, move |svc| admin_sessions::revoke_session(svc, &admin, id)).await?;
    let device = s.session.device_name.as_deref().unwrap_or(latchkey_domain::device::UNKNOWN_DEVICE);
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Session revoked: {device} ({})", s.user_email))))
}
