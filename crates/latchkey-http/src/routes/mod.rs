//! Routes, one module per router of the API. Handlers parse, run one service call on the blocking pool
//! (diesel and password hashing must never block the event loop), and render.

pub mod auth;
pub mod docs;
pub mod health;
pub mod root;
pub mod sessions;
pub mod users;

use actix_web::{HttpRequest, HttpResponse, Resource, web};
use latchkey_service::{ServiceError, Services};

use crate::error::{ApiError, codes};
use crate::state::AppState;

/// A resource whose unmatched methods answer 405 in the envelope.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// 405 `SYS_003`.
pub async fn method_not_allowed(_: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED, "Method not allowed"))
}

/// 404 `SYS_002` for any unknown path.
pub async fn not_found(_: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Not found"))
}

/// Runs a service call on the blocking pool.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Services) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let services = state.services.clone();
    Ok(web::block(move || f(&services)).await??)
}
