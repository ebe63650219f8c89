//! `/api/v1/sessions`: the caller's sessions and security history.

use actix_web::{HttpResponse, web};
use latchkey_service::sessions;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope};
use crate::extract::{AuthUser, Bearer, Body, Json, List, PageOnly, PageParams, parse_uuid};
use crate::openapi::RateLimited;
use crate::responses::{EventResponse, MessageResponse, Paginated, SessionListResponse, SessionResponse};
use crate::routes::run;
use crate::state::AppState;

/// The sessions router's operations and their per-IP limits.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_list_mine, list_mine).limit(30);
    r.add(__path_delete_ended, delete_ended).limit(5);
    r.add(__path_history, history);
    r.add(__path_revoke, revoke).limit(10);
    r.add(__path_rename, rename);
}

/// The caller's active sessions, most recently used first; `is_current` marks the one asking.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/me",
    tag = "sessions",
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The sessions", body = SessionListResponse),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn list_mine(state: web::Data<AppState>, Bearer(token): Bearer) -> Result<HttpResponse, ApiError> {
    // The session screen is a hot path: from the session cache on this thread when it can, else
    // authenticated and listed in one database visit.
    let (caller, rows) = match sessions::list_cached(&state.services, &token)? {
        sessions::Listed::Answered(caller, rows) => (caller, rows),
        sessions::Listed::AskDatabase(token) => run(&state, move |svc| sessions::list_valid(svc, token)).await?,
    };
    let current = caller.session_id();
    let list: Vec<SessionResponse> = rows.into_iter().map(|s| SessionResponse::new(s, current)).collect();
    Ok(HttpResponse::Ok().json(SessionListResponse { total: list.len(), sessions: list }))
}

/// Ends one of the caller's sessions: its access and refresh tokens stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{session_id}",
    tag = "sessions",
    params(("session_id" = Uuid, Path, description = "One of the caller's sessions")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = MessageResponse),
        (status = 403, description = "Someone else's session (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such session (`SYS_002`)", body = Envelope),
        (status = 429, response = RateLimited),
    ),
)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SessionRename)]
pub struct RenameBody {
    /// 1 to 255 characters once trimmed, not blank.
    #[schema(
        example = "Work laptop",
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F][^\x00-\x1F\x7F]*$"
    )]
    device_name: String,
}

impl Body for RenameBody {
    const REQUIRED: &'static [&'static str] = &["device_name"];
}

/// Names the session's device (e.g. "Work laptop").
#[utoipa::path(
    patch,
    path = "/api/v1/sessions/{session_id}",
    tag = "sessions",
    request_body = RenameBody,
    params(("session_id" = Uuid, Path, description = "One of the caller's sessions")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The renamed session", body = SessionResponse),
        (status = 403, description = "Someone else's session (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such session, or it has ended (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn rename(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
    Json(body): Json<RenameBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("session_id", &path)?;
    let current = caller.session_id();
    let session = run(&state, move |svc| sessions::rename_mine(svc, &caller, id, &body.device_name)).await?;
    Ok(HttpResponse::Ok().json(SessionResponse::new(session, current)))
}

/// Deletes the caller's ended (expired or revoked) sessions.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/me/expired",
    tag = "sessions",
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "How many were deleted", body = MessageResponse),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn delete_ended(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let n = run(&state, move |svc| sessions::delete_ended_mine(svc, &caller)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Cleaned up {n} expired sessions"))))
}

/// The caller's security history (logins, failures, logouts, revocations, password changes, token
/// reuse), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/me/history",
    tag = "sessions",
    params(PageParams),
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "One page of events", body = Paginated<EventResponse>)),
)]
pub async fn history(
    state: web::Data<AppState>,
    caller: AuthUser,
    list: List<PageOnly>,
) -> Result<HttpResponse, ApiError> {
    let page = list.page;
    let events = run(&state, move |svc| sessions::history(svc, &caller, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(events, page, EventResponse::from)))
}
