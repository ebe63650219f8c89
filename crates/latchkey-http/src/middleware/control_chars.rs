//! Control characters in the path or the query string (percent-encoded, as `%00` or `%0A`) are refused
//! with a 422 before routing, for every endpoint present and future: PostgreSQL cannot store U+0000, and
//! no path segment or query parameter of this API is multi-line text. Bodies get the same rule in
//! `crate::validation`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::{ApiError, ErrorItem};

/// Whether the percent-decoded form of `s` holds an ASCII control character (raw ones cannot reach here:
/// the HTTP parser refuses them in the request line).
fn encodes_control(s: &str) -> bool {
    let b = s.as_bytes();
    let is_control = |c: u32| c < 0x20 || c == 0x7f;
    let hex = |c: u8| char::from(c).to_digit(16);
    b.iter().enumerate().any(|(i, &c)| {
        is_control(u32::from(c))
            || (c == b'%'
                && matches!((b.get(i + 1).and_then(|&h| hex(h)), b.get(i + 2).and_then(|&l| hex(l))),
                            (Some(h), Some(l)) if is_control(h * 16 + l)))
    })
}

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
            crate::validation::CONTROL_IN_TEXT,
        )]))),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::encodes_control;

    #[test]
    fn finds_encoded_controls_only() {
        for bad in ["%00", "a%0Ab", "x=%1f", "%7F", "%7f&y=1"] {
            assert!(encodes_control(bad), "{bad}");
        }
        for good in ["", "page=2&limit=10", "q=%20a%2Fb%C3%A9", "%", "%0", "%zz", "100%25"] {
            assert!(!encodes_control(good), "{good}");
        }
    }
}
