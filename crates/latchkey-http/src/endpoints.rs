//! The route registry: every API operation as the routers list it ([`Endpoints`]), with how it is
//! described (its `#[utoipa::path]`), served (its handler) and limited (requests per minute per client
//! IP). The routers fill it (`routes::all`); the app serves it, the rate limiters and the OpenAPI
//! document are built from it. It knows nothing else of the crate.

use std::cmp::Ordering;

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{FromRequest, Responder, Route, web};
use utoipa::openapi::path::HttpMethod;
use utoipa_actix_web::OpenApiFactory;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_match_before_parameters() {
        let mut paths = vec!["/users/{user_id}", "/admin/users/{user_id}", "/users/me", "/admin/users/bulk-action"];
        paths.sort_by(|a, b| specificity(a, b));
        assert_eq!(paths, ["/users/me", "/admin/users/bulk-action", "/admin/users/{user_id}", "/users/{user_id}"]);
    }
}
