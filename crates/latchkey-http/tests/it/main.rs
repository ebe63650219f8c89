//! latchkey-http integration tests: the real `App`, driven in process, on SQLite and (when
//! `LATCHKEY_TEST_POSTGRES_URL` is set) PostgreSQL.

mod arrows;
mod system;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use chrono::{DateTime, TimeZone, Utc};
use latchkey_db::testing::TestDb;
use latchkey_domain::ManualClock;
use latchkey_http::{AppState, build_app};
use latchkey_service::Config;

/// A fixed start time; tests move the clock by hand.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

/// State over a test database with a manual clock.
pub fn state_for(db: &TestDb, clock: &ManualClock) -> AppState {
    AppState { config: Arc::new(Config::for_tests(&db.url)), db: db.db.clone(), clock: Arc::new(clock.clone()) }
}

/// The app as a service.
pub async fn service(
    state: AppState,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(build_app(state)).await
}

/// Reads a response's JSON body.
pub async fn json(res: ServiceResponse<impl MessageBody>) -> serde_json::Value {
    let bytes = test::read_body(res).await;
    serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
}
