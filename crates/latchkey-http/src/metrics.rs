//! `/metrics` in the Prometheus text format (metrics-exporter-prometheus).
//!
//! One recorder per process, installed the first time it is needed, collects the HTTP metrics
//! (`middleware::metrics`) and the service's counters (`latchkey_service::counters`, recorded through the
//! `metrics` facade where the events happen). The gauges — database pool and password hashing — are read
//! when Prometheus scrapes, so they cost nothing between scrapes.
//!
//! `/metrics` is served on the main port, or, with `METRICS_ADDR`, only on a listener of its own (see
//! [`metrics_app`]) so that it need not be reachable by the public.

use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::middleware::metrics::{HTTP_DURATION, HTTP_REQUESTS};
use crate::middleware::request_id::request_context;
use crate::routes;
use crate::state::AppState;

/// Where the metrics are served.
pub const PATH: &str = "/metrics";

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets in seconds: the auth check takes well under a millisecond, a login tens of
/// milliseconds, a request stuck behind an exhausted pool seconds.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const DB_POOL_CONNECTIONS: &str = "latchkey_db_pool_connections";
const DB_POOL_IDLE: &str = "latchkey_db_pool_idle_connections";
const DB_POOL_MAX: &str = "latchkey_db_pool_max_connections";
const HASHES_IN_FLIGHT: &str = "latchkey_password_hashes_in_flight";
const HASHES_QUEUED: &str = "latchkey_password_hashes_queued";
const HASHES_SHED: &str = "latchkey_password_hashes_shed_total";
const CACHE_LOOKUPS: &str = "latchkey_session_cache_lookups_total";
const CACHE_INVALIDATIONS: &str = "latchkey_session_cache_invalidations_total";
const CACHE_NOTIFICATIONS: &str = "latchkey_session_cache_notifications_total";
const CACHE_CONNECTS: &str = "latchkey_session_cache_listener_connects_total";
const CACHE_SERVING: &str = "latchkey_session_cache_serving";
const CACHE_ENTRIES: &str = "latchkey_session_cache_entries";
const CACHE_BYTES: &str = "latchkey_session_cache_bytes";
const CACHE_LAG: &str = "latchkey_session_cache_notification_lag_seconds";
const CACHE_SILENCE: &str = "latchkey_session_cache_listener_silence_seconds";

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // Only a program embedding this crate could have installed one; ours then stays empty.
            tracing::warn!("a metrics recorder was already installed: /metrics shows only the gauges");
        }
        describe();
        handle
    })
}

/// HELP lines for every metric, so the output explains itself.
fn describe() {
    use latchkey_service::counters as c;
    describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route pattern and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by method and route pattern.");
    describe_counter!(c::LOGINS, "Login attempts by outcome (succeeded, failed, throttled).");
    describe_counter!(c::REFRESHES, "Refresh-token rotations by outcome (rotated, refused).");
    describe_counter!(c::REUSE_DETECTED, "Refresh tokens presented again after rotation (each revoked its session).");
    describe_counter!(c::SESSIONS_CREATED, "Sessions opened by a login.");
    describe_counter!(c::SESSIONS_REVOKED, "Sessions ended, by reason.");
    describe_counter!(c::PASSWORD_RESETS, "Password resets by step (requested, completed).");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database connections the pool holds (busy and idle).");
    describe_gauge!(DB_POOL_IDLE, "Idle database connections in the pool.");
    describe_gauge!(DB_POOL_MAX, "The most database connections the pool may open (DB_POOL_SIZE).");
    describe_gauge!(HASHES_IN_FLIGHT, "Password hashes and checks being computed by the hashing pool.");
    describe_gauge!(HASHES_QUEUED, "Requests waiting for the password-hashing pool.");
    describe_counter!(HASHES_SHED, "Requests answered 503 because the hashing queue was full or too slow.");
    describe_counter!(
        CACHE_LOOKUPS,
        "Authentication checks the session cache answered (hit) or sent to the database (miss)."
    );
    describe_counter!(CACHE_INVALIDATIONS, "Sessions and users the session cache forgot because they changed.");
    describe_counter!(CACHE_NOTIFICATIONS, "Change notifications the session cache's listener received (PostgreSQL).");
    describe_counter!(
        CACHE_CONNECTS,
        "Times the session cache's listener connected (PostgreSQL); each one starts empty."
    );
    describe_gauge!(
        CACHE_SERVING,
        "1 while the session cache answers checks; 0 when off or deaf (answers come from the database)."
    );
    describe_gauge!(CACHE_ENTRIES, "Entries in the session cache, by kind (session, user).");
    describe_gauge!(CACHE_BYTES, "Bytes the session cache's entries hold (as weighed against SESSION_CACHE_MB).");
    describe_gauge!(CACHE_LAG, "The latest change notification's delay from its trigger to this node (PostgreSQL).");
    describe_gauge!(CACHE_SILENCE, "Time since the listener last proved its connection (PostgreSQL; deaf past 3 s).");
}

/// Runs the recorder's periodic housekeeping (drains histogram samples between scrapes); the server
/// calls it every few seconds.
pub fn upkeep() {
    handle().run_upkeep();
}

/// `GET /metrics`: reads the gauges, then renders everything.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.services.db.pool_state();
    gauge!(DB_POOL_CONNECTIONS).set(pool.connections);
    gauge!(DB_POOL_IDLE).set(pool.idle);
    gauge!(DB_POOL_MAX).set(pool.max_size);
    let hashing = state.services.hashing_load();
    gauge!(HASHES_IN_FLIGHT).set(hashing.in_flight as f64);
    gauge!(HASHES_QUEUED).set(hashing.queued as f64);
    // The pool keeps the running total; the counter takes it as it is.
    counter!(HASHES_SHED).absolute(hashing.shed);
    let cache = state.services.cache.report();
    counter!(CACHE_LOOKUPS, "outcome" => "hit").absolute(cache.hits);
    counter!(CACHE_LOOKUPS, "outcome" => "miss").absolute(cache.misses);
    counter!(CACHE_INVALIDATIONS).absolute(cache.invalidations);
    counter!(CACHE_NOTIFICATIONS).absolute(cache.notices);
    counter!(CACHE_CONNECTS).absolute(cache.connects);
    gauge!(CACHE_SERVING).set(f64::from(u8::from(cache.serving)));
    gauge!(CACHE_ENTRIES, "kind" => "session").set(cache.sessions as f64);
    gauge!(CACHE_ENTRIES, "kind" => "user").set(cache.users as f64);
    gauge!(CACHE_BYTES).set(cache.bytes as f64);
    gauge!(CACHE_LAG).set(cache.lag_seconds);
    gauge!(CACHE_SILENCE).set(cache.silence_seconds);
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(handle().render())
}

/// Registers `GET /metrics` on the main app (when the metrics are on and `METRICS_ADDR` does not give them
/// a listener of their own), installing the recorder.
pub fn configure(cfg: &mut web::ServiceConfig, on_main_port: bool) {
    if on_main_port {
        handle();
        cfg.service(routes::resource(PATH, &[Method::GET]).route(web::get().to(scrape)));
    }
}

/// The app of the `METRICS_ADDR` listener: `/metrics` and nothing else (404 in the envelope), with
/// request ids like every other response.
pub fn metrics_app(
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
    handle();
    App::new()
        .app_data(web::Data::new(state))
        .wrap(from_fn(request_context))
        .service(routes::resource(PATH, &[Method::GET]).route(web::get().to(scrape)))
        .default_service(web::to(routes::not_found))
}
