//! Middleware written for Latchkey: security headers on every response, the request-size limit, the
//! trailing-slash redirect and the per-route rate limits.

pub mod body_limit;
pub mod control_chars;
pub mod cors;
pub mod rate_limit;
pub mod security_headers;
pub mod trailing_slash;
