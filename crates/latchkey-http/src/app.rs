//! The `App` factory: the same one serves production and the tests. Here the pieces meet: the state
//! with the limiters of every route (`routes::all`), the middleware stack, and the routes, each wrapped in
//! its limiter.

use std::sync::Arc;

use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, web};
use latchkey_domain::DeviceParser;
use latchkey_service::{Config, Services};

use crate::error::{ApiError, ErrorItem};
use crate::middleware::body_limit::limit_request_size;
use crate::middleware::metrics::record_http_metrics;
use crate::middleware::request_id::request_context;
use crate::middleware::security_headers::{SecurityHeaders, add_security_headers};
use crate::middleware::trailing_slash::redirect_trailing_slash;
use crate::rate_limit::RateLimits;
use crate::routes::{self, docs, resource};
use crate::settings::ServerSettings;
use crate::state::AppState;

/// The state the app serves: the server's settings, the use cases' context, and a limiter for every
/// limited operation of [`routes::all`], created here, once, and shared by every worker.
pub fn state(server: ServerSettings, config: Config, services: Services, devices: Arc<DeviceParser>) -> AppState {
    let limits = RateLimits::new(server.rate_limit_scale, &server.trusted_proxies, &routes::all());
    AppState::new(server, config, services, devices, limits)
}

/// Builds the application around `state`.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let headers = SecurityHeaders { hsts: state.config.is_production() };
    let limits = state.limits.clone();
    let cors = crate::middleware::cors::cors(&state.server.cors_origins);
    let metrics = state.server.metrics_enabled;
    let metrics_here = metrics && state.server.metrics_addr.is_none();
    let bodies = state.bodies.clone();
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(headers))
        // The body reader's deadline and budget (`crate::body`).
        .app_data(bodies)
        // Our handlers parse bodies with `extract::{Json, Form}`; these catch anything actix's own
        // extractors would otherwise answer in plain text.
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid path: {e}"))]).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid query: {e}"))]).into()
        }))
        // Listed innermost first: the size limit runs inside the headers, so a 413 gets them too. The
        // request id (and the request's log span) wraps everything, then the metrics.
        .wrap(from_fn(limit_request_size))
        .wrap(from_fn(crate::middleware::control_chars::reject_control_chars))
        .wrap(from_fn(redirect_trailing_slash))
        .wrap(cors)
        .wrap(from_fn(add_security_headers))
        .wrap(Condition::new(metrics, from_fn(record_http_metrics)))
        .wrap(from_fn(request_context))
        .service(resource("/", &[Method::GET]).route(web::get().to(routes::root::index)))
        .service(resource(docs::OPENAPI_PATH, &[Method::GET]).route(web::get().to(docs::openapi_json)))
        .service(resource("/docs", &[Method::GET]).route(web::get().to(docs::swagger)))
        .service(resource("/docs/{file}", &[Method::GET]).route(web::get().to(docs::swagger_file)))
        .service(resource("/redoc", &[Method::GET]).route(web::get().to(docs::redoc)))
        .service(resource("/redoc/redoc.standalone.js", &[Method::GET]).route(web::get().to(docs::redoc_script)))
        .configure(|cfg| crate::metrics::configure(cfg, metrics_here))
        .configure(|cfg| api(cfg, &limits))
        .default_service(web::to(routes::not_found))
}

/// Serves every router's operations (`routes::all`), one resource per path, each operation wrapped in
/// its shared limiter when it has one.
fn api(cfg: &mut web::ServiceConfig, limits: &RateLimits) {
    let endpoints = routes::all();
    for (path, operations) in endpoints.by_path() {
        let methods: Vec<Method> = operations.iter().map(|o| o.method.clone()).collect();
        let mut resource = resource(path, &methods);
        for operation in operations {
            let route = operation.route();
            resource = resource.route(match limits.get(&operation.method, &operation.path) {
                Some(limit) => route.wrap(Governor::new(limit)),
                None => route,
            });
        }
        cfg.service(resource);
    }
}
