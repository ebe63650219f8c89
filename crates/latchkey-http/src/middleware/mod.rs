//! Middleware written for Latchkey: request ids and the access log, HTTP metrics, security headers on
//! every response, the request-size limit, control characters in paths and queries, CORS and the
//! trailing-slash redirect. The per-route rate limits wrap routes, not the app (`crate::rate_limit`).

pub mod body_limit;
pub mod control_chars;
pub mod cors;
pub mod metrics;
pub mod request_id;
pub mod security_headers;
pub mod trailing_slash;
