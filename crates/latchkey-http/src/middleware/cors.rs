//! CORS for browser clients: exactly the origins in `BACKEND_CORS_ORIGINS`, with credentials (so the
//! `latchkey_device` cookie travels with a frontend's `credentials: "include"` logins, and only for those
//! origins), the reference's methods and headers plus `X-Device-Token`, `Content-Length` and
//! `X-Device-Token` exposed, preflights cached 10 minutes.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// Headers a browser may send (the reference's list).
const ALLOWED_HEADERS: [header::HeaderName; 10] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    header::ACCEPT,
    header::ORIGIN,
    header::USER_AGENT,
    header::HeaderName::from_static("dnt"),
    header::CACHE_CONTROL,
    header::HeaderName::from_static("x-requested-with"),
    header::HeaderName::from_static("x-device-id"),
    header::HeaderName::from_static("x-device-token"),
];

/// The middleware for these origins.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers([header::CONTENT_LENGTH, header::HeaderName::from_static("x-device-token")])
        .supports_credentials()
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
