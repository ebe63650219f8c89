//! Middleware written for Latchkey: request ids and the access log, HTTP metrics, security headers on
//! every response, the request-size limit, the trailing-slash redirect and the per-route rate limits.

pub mod body_limit;
pub mod control_chars;
pub mod cors;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
pub mod trailing_slash;
