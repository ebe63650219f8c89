//! CORS for browser clients: exactly the origins in `BACKEND_CORS_ORIGINS`, with credentials, the
//! reference's methods and headers, `Content-Length` exposed, preflights cached 10 minutes.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// Headers a browser may send (the reference's list).
const ALLOWED_HEADERS: [header::HeaderName; 9] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    header::ACCEPT,
    header::ORIGIN,
    header::USER_AGENT,
    header::HeaderName::from_static("dnt"),
    header::CACHE_CONTROL,
    header::HeaderName::from_static("x-requested-with"),
    header::HeaderName::from_static("x-device-id"),
];

/// The middleware for these origins.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers([header::CONTENT_LENGTH])
        .supports_credentials()
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
