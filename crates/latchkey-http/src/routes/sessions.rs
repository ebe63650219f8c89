//! `/api/v1/sessions`: the caller's sessions and security history.

use actix_web::{HttpResponse, web};
use latchkey_db::repo::Window;
use latchkey_service::sessions;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::responses::{EventResponse, MessageResponse, Paginated, SessionListResponse, SessionResponse};
use crate::routes::run;
use crate::state::AppState;
use crate::validation::{Body, Json, PageQuery, parse_uuid};

/// `GET /me`: active sessions, most recently used first; `is_current` marks the calling session.
pub async fn list_mine(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let current = caller.session_id();
    let rows = run(&state, move |svc| sessions::list_mine(svc, &caller)).await?;
    let list: Vec<SessionResponse> = rows.iter().map(|s| SessionResponse::new(s, current)).collect();
    Ok(HttpResponse::Ok().json(SessionListResponse { total: list.len(), sessions: list }))
}

/// `DELETE /{session_id}`: ends one of the caller's sessions.
pub async fn revoke(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("session_id", &path)?;
    let name = run(&state, move |svc| sessions::revoke_mine(svc, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!(
        "Session revoked: {}",
        name.as_deref().unwrap_or(latchkey_domain::device::UNKNOWN_DEVICE)
    ))))
}

/// `{device_name}`.
#[derive(Debug, Deserialize)]
pub struct RenameBody {
    device_name: String,
}

impl Body for RenameBody {
    const REQUIRED: &'static [&'static str] = &["device_name"];
}

/// `PATCH /{session_id}`: names the device.
pub async fn rename(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
    Json(body): Json<RenameBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("session_id", &path)?;
    let current = caller.session_id();
    let row = run(&state, move |svc| sessions::rename_mine(svc, &caller, id, &body.device_name)).await?;
    Ok(HttpResponse::Ok().json(SessionResponse::new(&row, current)))
}

/// `DELETE /me/expired`: deletes the caller's ended sessions.
pub async fn delete_ended(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| sessions::delete_ended_mine(svc, &caller)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Cleaned up {n} expired sessions"))))
}

/// `GET /me/history`: the caller's security events, newest first, paginated.
pub async fn history(state: web::Data<AppState>, caller: AuthUser, page: PageQuery) -> Result<HttpResponse, ApiError> {
    let window = Window::page(page.page, page.limit);
    let events = run(&state, move |svc| sessions::history(svc, &caller, window)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(events, page.page, page.limit, |e| EventResponse::from(e))))
}
