//! The request-size limit, part one: a declared `Content-Length` over the limit is refused before any
//! byte is read. Part two is the body reader's own limit on the bytes actually read (chunked bodies
//! included; see `crate::body`). A malformed `Content-Length` never gets this far: actix's HTTP/1
//! parser answers it with a bare 400, which `crate::server` turns into the envelope.
//!
//! It also stamps the request's arrival, from which the body's read deadline counts (`crate::body`).

use actix_web::HttpMessage as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;

use crate::body::MAX_BODY_BYTES;
use crate::error::ApiError;

/// The middleware function (`actix_web::middleware::from_fn`).
pub async fn limit_request_size(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    req.extensions_mut().insert(crate::body::Arrival(std::time::Instant::now()));
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(|v| v.trim().parse::<u64>());
    // Answer with a response, not `Err`, so the outer middleware still adds its headers.
    match declared {
        Some(Ok(len)) if len > MAX_BODY_BYTES as u64 => Ok(req.error_response(ApiError::too_large())),
        Some(Err(_)) => Ok(req.error_response(ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            crate::error::codes::INVALID_INPUT,
            "Invalid Content-Length header",
        ))),
        _ => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}
