//! Routes, one module per router of the API. Handlers parse, run one service call on the blocking pool
//! (diesel and password hashing must never block the event loop), and render.
//!
//! Each router module has one `routes(&mut Endpoints)` function that lists its operations in the registry
//! (`crate::endpoints`): for each, the handler's `#[utoipa::path]` description (which carries the method
//! and the path) and the handler, plus its per-IP rate limit if it has one. [`all`] collects every
//! router's list; the app serves it (`app.rs`), the limiters are built from it (`crate::rate_limit`) and
//! the OpenAPI document is generated from it (`openapi::document`, served by `routes::docs`), so a route
//! cannot be served undocumented or documented unserved, and adding an endpoint is a change in its router
//! module only.

pub mod admin;
pub mod auth;
pub mod docs;
pub mod health;
pub mod not_me;
pub mod oauth;
pub mod organizations;
pub mod root;
pub mod sessions;
pub mod users;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use latchkey_service::{ServiceError, Services};

use crate::endpoints::Endpoints;
use crate::error::ApiError;
use crate::state::AppState;

/// Every router's operations: what the app serves, limits and documents.
pub fn all() -> Endpoints {
    let mut endpoints = Endpoints::default();
    health::routes(&mut endpoints);
    auth::routes(&mut endpoints);
    not_me::routes(&mut endpoints);
    users::routes(&mut endpoints);
    sessions::routes(&mut endpoints);
    admin::routes(&mut endpoints);
    organizations::routes(&mut endpoints);
    oauth::routes(&mut endpoints);
    endpoints
}

/// A resource serving `methods` (the caller adds their routes), whose other methods answer 405 in the
/// envelope with `Allow` listing `methods`. HEAD is not implied by GET: actix routes it to no handler.
pub fn resource(path: &str, methods: &[Method]) -> Resource {
    let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(allow) }
    }))
}

/// 405 `SYS_003` with `Allow`.
fn method_not_allowed(allow: String) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
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
    // Through the database gate, with the request's span (see `Services::blocking`).
    Ok(state.services.blocking(f).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once_with_one_method() {
        let endpoints = all();
        assert!(endpoints.iter().count() >= 18);
        let login = endpoints.iter().find(|e| e.path == "/api/v1/auth/login").unwrap();
        assert_eq!((login.method.clone(), login.per_minute), (Method::POST, Some(10)));
    }
}
