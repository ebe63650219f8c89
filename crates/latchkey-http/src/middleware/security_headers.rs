//! Security headers on every response — 2xx, 4xx envelopes, 404/405, 413, 429 and 5xx alike.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The API's policy: nothing but same-origin resources.
const CSP_API: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
                       connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
/// The docs pages inline their bootstrap script and style.
const CSP_DOCS: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; \
                        style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; \
                        font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; \
                        frame-ancestors 'none'";

/// Whether this path serves a docs page (which gets the looser CSP).
fn is_docs_path(path: &str) -> bool {
    path == "/docs" || path == "/redoc" || path.starts_with("/docs/") || path.starts_with("/redoc/")
}

/// Settings for the headers, shared by all workers.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    /// Adds `Strict-Transport-Security` (production only: it pins browsers to HTTPS).
    pub hsts: bool,
}

/// The middleware function (`actix_web::middleware::from_fn`).
pub async fn add_security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let settings = req.app_data::<actix_web::web::Data<SecurityHeaders>>().map(|s| *s.get_ref());
    let docs = is_docs_path(req.path());
    // Handlers' errors arrive here as responses; the middleware inside this one (size limit, rate limit)
    // also answer with responses rather than `Err`, so every response passes through here.
    let mut res = next.call(req).await?.map_into_boxed_body();
    let h = res.headers_mut();
    let set = |h: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    };
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-xss-protection", "1; mode=block");
    set(h, "permissions-policy", "geolocation=(), microphone=(), camera=()");
    set(h, "referrer-policy", "strict-origin-when-cross-origin");
    set(h, "content-security-policy", if docs { CSP_DOCS } else { CSP_API });
    if settings.is_some_and(|s| s.hsts) {
        set(h, "strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_paths() {
        assert!(super::is_docs_path("/docs"));
        assert!(super::is_docs_path("/docs/swagger-ui.css"));
        assert!(!super::is_docs_path("/docsx"));
        assert!(!super::is_docs_path("/api/v1/docs"));
    }
}
