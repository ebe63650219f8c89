//! Routes, one module per router of the API. Handlers parse, run one service call on the blocking pool
//! (diesel and password hashing must never block the event loop), and render.
//!
//! Each router module has one `routes(&mut Endpoints)` function that lists its operations: for each, the
//! handler's `#[utoipa::path]` description (which carries the method and the path) and the handler, plus
//! its per-IP rate limit if it has one. [`all`] collects every router's list; the app serves it
//! (`app.rs`), the limiters are built from it (`middleware::rate_limit`) and the OpenAPI document is
//! generated from it (`openapi.rs`), so a route cannot be served undocumented or documented unserved, and
//! adding an endpoint is a change in its router module only.

pub mod admin;
pub mod auth;
pub mod docs;
pub mod health;
pub mod not_me;
pub mod oauth;
pub mod organizations;
pub mod root;
pub mod sessions;
pub mod users;

use std::cmp::Ordering;

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Resource, Responder, Route, web};
use latchkey_service::{ServiceError, Services};
use utoipa::openapi::path::HttpMethod;
use utoipa_actix_web::OpenApiFactory;

use crate::error::ApiError;
use crate::state::AppState;

/// One API operation: how it is described, served and limited.
pub struct Endpoint {
    /// The HTTP method, from the handler's `#[utoipa::path]`.
    pub method: Method,
    /// The full path (`/api/v1/sessions/{session_id}`), from the handler's `#[utoipa::path]`.
    pub path: String,
    /// Requests per minute per client IP (before `RATE_LIMIT_SCALE`), or `None` for no limit.
    pub per_minute: Option<u32>,
    route: Box<dyn Fn() -> Route>,
    doc: Box<dyn OpenApiFactory>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Limits the operation to `per_minute` requests per minute per client IP (scaled by
    /// `RATE_LIMIT_SCALE`); over it, 429 `SYS_004` with `Retry-After`.
    pub fn limit(&mut self, per_minute: u32) -> &mut Endpoint {
        self.per_minute = Some(per_minute);
        self
    }

    /// A new actix route for this operation (each worker builds its own).
    pub fn route(&self) -> Route {
        (self.route)()
    }

    /// The operation's OpenAPI description: its path item and the schemas it refers to.
    pub fn doc(&self) -> &dyn OpenApiFactory {
        self.doc.as_ref()
    }
}

/// Every router's operations, in the order the routers listed them.
#[derive(Debug, Default)]
pub struct Endpoints(Vec<Endpoint>);

impl Endpoints {
    /// Adds an operation: `doc` is the `__path_<handler>` type `#[utoipa::path]` generates next to
    /// `handler`; its method and path are the ones served.
    ///
    /// # Panics
    /// When the description names other than exactly one method, or an operation is added twice: both are
    /// programming errors that the first test run (or start-up) reports.
    pub fn add<D, F, Args>(&mut self, doc: D, handler: F) -> &mut Endpoint
    where
        D: utoipa::Path + OpenApiFactory + 'static,
        F: Handler<Args> + Clone + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let methods = D::methods();
        let [method] = methods.as_slice() else {
            panic!("{} must document exactly one method", D::path());
        };
        let method = actix_method(method);
        let path = D::path();
        assert!(!self.0.iter().any(|e| e.method == method && e.path == path), "{method} {path} is registered twice");
        let route_method = method.clone();
        self.0.push(Endpoint {
            method,
            path,
            per_minute: None,
            route: Box::new(move || web::method(route_method.clone()).to(handler.clone())),
            doc: Box::new(doc),
        });
        self.0.last_mut().expect("just pushed")
    }

    /// The operations.
    pub fn iter(&self) -> impl Iterator<Item = &Endpoint> {
        self.0.iter()
    }

    /// The operations grouped by path (one actix resource each), most specific path first: a literal
    /// segment sorts before a `{parameter}` in the same place, so `/users/me` is matched before
    /// `/users/{user_id}` whatever order the routers listed them in.
    pub fn by_path(&self) -> Vec<(&str, Vec<&Endpoint>)> {
        let mut groups: Vec<(&str, Vec<&Endpoint>)> = Vec::new();
        for e in &self.0 {
            match groups.iter_mut().find(|(p, _)| *p == e.path) {
                Some((_, list)) => list.push(e),
                None => groups.push((&e.path, vec![e])),
            }
        }
        groups.sort_by(|(a, _), (b, _)| specificity(a, b));
        groups
    }
}

/// Orders paths so that, segment by segment, a literal comes before a parameter.
fn specificity(a: &str, b: &str) -> Ordering {
    let kinds = |p: &str| -> Vec<bool> { p.split('/').map(|s| s.starts_with('{')).collect() };
    kinds(a).cmp(&kinds(b))
}

fn actix_method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Every router's operations: what the app serves, limits and documents.
pub fn all() -> Endpoints {
    let mut endpoints = Endpoints::default();
    health::routes(&mut endpoints);
    auth::routes(&mut endpoints);
    not_me::routes(&mut endpoints);
    users::routes(&mut endpoints);
    sessions::routes(&mut endpoints);
    admin::routes(&mut endpoints);
    organizations::routes(&mut endpoints);
    oauth::routes(&mut endpoints);
    endpoints
}

/// A resource serving `methods` (the caller adds their routes), whose other methods answer 405 in the
/// envelope with `Allow` listing `methods`. HEAD is not implied by GET: actix routes it to no handler.
pub fn resource(path: &str, methods: &[Method]) -> Resource {
    let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(allow) }
    }))
}

/// 405 `SYS_003` with `Allow`.
fn method_not_allowed(allow: String) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
}

/// 404 `SYS_002` for any unknown path.
pub async fn not_found(_: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Not found"))
}

/// Runs a service call on the blocking pool.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Services) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    // Through the database gate, with the request's span (see `Services::blocking`).
    Ok(state.services.blocking(f).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_match_before_parameters() {
        let mut paths = vec!["/users/{user_id}", "/admin/users/{user_id}", "/users/me", "/admin/users/bulk-action"];
        paths.sort_by(|a, b| specificity(a, b));
        assert_eq!(paths, ["/users/me", "/admin/users/bulk-action", "/admin/users/{user_id}", "/users/{user_id}"]);
    }

    #[test]
    fn every_operation_is_listed_once_with_one_method() {
        let endpoints = all();
        assert!(endpoints.iter().count() >= 18);
        let login = endpoints.iter().find(|e| e.path == "/api/v1/auth/login").unwrap();
        assert_eq!((login.method.clone(), login.per_minute), (Method::POST, Some(10)));
    }
}
