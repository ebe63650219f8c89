//! Middleware written for Latchkey: security headers on every response, and the request-size limit.

pub mod body_limit;
pub mod control_chars;
pub mod cors;
pub mod rate_limit;
pub mod security_headers;
