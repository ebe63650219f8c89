//! The `App` factory: the same one serves production and the tests.

use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, Resource, Route, web};

use crate::error::{ApiError, ErrorItem};
use crate::middleware::body_limit::limit_request_size;
use crate::middleware::rate_limit::{Limit, RateLimits};
use crate::middleware::security_headers::{SecurityHeaders, add_security_headers};
use crate::routes::{self, auth, docs, resource, sessions, users};
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
    let limits = state.limits.clone();
    let cors = crate::middleware::cors::cors(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(headers))
        // Our handlers parse bodies with `validation::{Json, Form}`; these catch anything actix's own
        // extractors would otherwise answer in plain text.
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid path: {e}"))]).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid query: {e}"))]).into()
        }))
        // Listed innermost first: the size limit runs inside the headers, so a 413 gets them too.
        .wrap(from_fn(limit_request_size))
        .wrap(from_fn(crate::middleware::control_chars::reject_control_chars))
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(cors)
        .wrap(from_fn(add_security_headers))
        .wrap(tracing_actix_web::TracingLogger::default())
        .service(resource("/").route(web::get().to(routes::root::index)))
        .service(resource("/health").route(web::get().to(routes::health::health)))
        .service(resource(docs::OPENAPI_PATH).route(web::get().to(docs::openapi_json)))
        .service(resource("/docs").route(web::get().to(docs::swagger)))
        .service(resource("/docs/{file}").route(web::get().to(docs::swagger_file)))
        .service(resource("/redoc").route(web::get().to(docs::redoc)))
        .service(web::scope("/api/v1").configure(|cfg| api_v1(cfg, &limits)))
        .default_service(web::to(routes::not_found))
}

/// The route, rate limited when `limit` is set.
fn limit(route: Route, limit: &Option<Limit>) -> Route {
    match limit {
        Some(l) => route.wrap(Governor::new(l)),
        None => route,
    }
}

/// A resource with one route, limited when `l` is set.
fn limited(path: &str, route: Route, l: &Option<Limit>) -> Resource {
    resource(path).route(limit(route, l))
}

fn api_v1(cfg: &mut web::ServiceConfig, l: &RateLimits) {
    cfg.service(limited("/auth/register", web::post().to(auth::register), &l.register))
        .service(limited("/auth/login", web::post().to(auth::login), &l.login))
        .service(limited("/auth/login/oauth", web::post().to(auth::login_oauth), &l.login_oauth))
        .service(limited("/auth/refresh", web::post().to(auth::refresh), &l.refresh))
        .service(limited("/auth/logout", web::post().to(auth::logout), &l.logout))
        .service(limited("/auth/logout-all", web::post().to(auth::logout_all), &l.logout_all))
        .service(limited("/auth/logout-others", web::post().to(auth::logout_others), &l.logout_others))
        .service(limited("/auth/password-reset/request", web::post().to(auth::reset_request), &l.reset_request))
        .service(limited("/auth/password-reset/confirm", web::post().to(auth::reset_confirm), &l.reset_confirm))
        .service(limited("/sessions/me", web::get().to(sessions::list_mine), &l.sessions_list))
        .service(limited("/sessions/me/expired", web::delete().to(sessions::delete_ended), &l.sessions_cleanup))
        .service(resource("/sessions/me/history").route(web::get().to(sessions::history)))
        .service(
            resource("/sessions/{session_id}")
                .route(web::patch().to(sessions::rename))
                .route(limit(web::delete().to(sessions::revoke), &l.session_revoke)),
        )
        .service(resource("/users/me").route(web::get().to(users::me)).route(web::patch().to(users::update_me)))
        .service(limited("/users/me/password", web::patch().to(users::change_password), &l.password_change));
}
