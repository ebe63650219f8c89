//! The `App` factory: the same one serves production and the tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, web};

use crate::middleware::body_limit::limit_request_size;
use crate::middleware::security_headers::{SecurityHeaders, add_security_headers};
use crate::routes::{self, resource};
use crate::state::AppState;

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
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(headers))
        // Listed innermost first: the size limit runs inside the headers, so a 413 gets them too.
        .wrap(from_fn(limit_request_size))
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(from_fn(add_security_headers))
        .wrap(tracing_actix_web::TracingLogger::default())
        .service(resource("/").route(web::get().to(routes::root::index)))
        .service(resource("/health").route(web::get().to(routes::health::health)))
        .default_service(web::to(routes::not_found))
}
