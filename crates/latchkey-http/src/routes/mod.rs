//! Routes, one module per router of the API.

pub mod health;
pub mod root;

use actix_web::{HttpRequest, HttpResponse, Resource, web};

use crate::error::{ApiError, codes};

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
