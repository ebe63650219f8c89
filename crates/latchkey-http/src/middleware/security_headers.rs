//! Security headers on every response — 2xx, 4xx envelopes, 404/405, 413, 429 and 5xx alike.

use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::error::ApiError;

/// The API's policy: nothing but same-origin resources.
const CSP_API: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
                       connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
/// The docs pages load everything from the binary. Scripts are files (no inline script); Swagger UI and
/// ReDoc set inline styles; their icons are `data:` images; ReDoc runs its search index in a worker it
/// makes from a `blob:` URL.
const CSP_DOCS: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; \
                        frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

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
    let private = is_private(&req);
    // Handlers' errors arrive here as responses; the middleware inside this one (size limit, rate limit)
    // also answer with responses rather than `Err`. A response made from an error that is not ours
    // (actix-cors refuses a preflight with a plain-text 400) is rendered again in the envelope here.
    let res = next.call(req).await?;
    let foreign = res.response().error().filter(|e| e.as_error::<ApiError>().is_none()).map(ApiError::from_actix);
    let mut res = match foreign {
        Some(api) => {
            let (req, old) = res.into_parts();
            let mut envelope = api.error_response();
            if let Some(vary) = old.headers().get(header::VARY) {
                envelope.headers_mut().insert(header::VARY, vary.clone());
            }
            ServiceResponse::new(req, envelope)
        }
        None => res.map_into_boxed_body(),
    };
    let h = res.headers_mut();
    for (name, value) in api_headers(settings.is_some_and(|s| s.hsts)) {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if docs {
        h.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP_DOCS));
    }
    if private && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Whether the answer may hold an account's data or tokens, which no cache (a browser's, a proxy's) may
/// keep: every `/api/v1` answer and every answer to a request with credentials. The public documents (`/`,
/// `/health`, the docs pages, the OpenAPI document) stay cacheable.
fn is_private(req: &ServiceRequest) -> bool {
    let path = req.path();
    let public = path == "/api/v1/openapi.json" || path == "/api/v1/oauth/providers";
    req.headers().contains_key(header::AUTHORIZATION) || (path.starts_with("/api/v1/") && !public)
}

/// The headers every API response carries (lower-case names); `hsts` adds `Strict-Transport-Security`.
/// Also used by `crate::server` for the answers actix-http writes before the app runs.
pub fn api_headers(hsts: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("x-xss-protection", "1; mode=block"),
        ("permissions-policy", "geolocation=(), microphone=(), camera=()"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("content-security-policy", CSP_API),
    ]
    .into_iter()
    .chain(hsts.then_some(("strict-transport-security", "max-age=31536000; includeSubDomains")))
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
