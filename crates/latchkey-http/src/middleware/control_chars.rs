//! Control characters in the path or the query string (percent-encoded, as `%00` or `%0A`) are refused
//! with a 422 before routing, for every endpoint present and future: PostgreSQL cannot store U+0000, and
//! no path segment or query parameter of this API is multi-line text. The rule is `crate::input_rules`'s;
//! bodies get it in `crate::extract`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::{ApiError, ErrorItem};
use crate::input_rules::{CONTROL_IN_TEXT, encodes_control};

/// The middleware function (`actix_web::middleware::from_fn`).
pub async fn reject_control_chars(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let field = if encodes_control(req.uri().path()) {
        Some("path")
    } else if encodes_control(req.query_string()) {
        Some("query")
    } else {
        None
    };
    match field {
        // A response, not `Err`, so the outer middleware still adds its headers.
        Some(field) => Ok(req.error_response(ApiError::validation(vec![ErrorItem::validation(
            Some(field.to_owned()),
            CONTROL_IN_TEXT,
        )]))),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}
