//! latchkey-http integration tests: the real `App`, driven in process, on SQLite and (when
//! `LATCHKEY_TEST_POSTGRES_URL` is set) PostgreSQL.

mod admin;
mod alerts;
mod arrows;
mod auth;
mod bodies;
mod cli;
mod docs;
mod fuzz;
mod geoip;
mod hardening;
mod observability;
mod organizations;
mod sessions;
mod shell;
mod system;
mod users;

use std::sync::{Arc, Mutex, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use chrono::{DateTime, TimeZone, Utc};
use latchkey_db::testing::TestDb;
use latchkey_domain::{DeviceParser, ManualClock};
use latchkey_http::{AppState, build_app};
use latchkey_service::Config;
use latchkey_service::mail::{Email, EmailSender};
use serde_json::{Value, json};

/// A fixed start time; tests move the clock by hand.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

pub const PASSWORD: &str = "Correct-Horse-9!";
pub const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
                              Chrome/120.0.0.0 Safari/537.36";
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
                          Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// The User-Agent parser is costly to build: one per test process.
pub fn devices() -> Arc<DeviceParser> {
    static PARSER: OnceLock<Arc<DeviceParser>> = OnceLock::new();
    PARSER.get_or_init(|| Arc::new(DeviceParser::new())).clone()
}

/// Captures outgoing email.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<Email>>>);

impl EmailSender for Outbox {
    fn send(&self, email: &Email) -> Result<(), String> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
}

impl Outbox {
    /// Waits (briefly) for the n-th message: reset emails are sent off the request's thread.
    pub fn wait_for(&self, n: usize) -> Email {
        for _ in 0..200 {
            if let Some(m) = self.0.lock().unwrap().get(n) {
                return m.clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no email #{n} was sent");
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// One test's world: a database, a clock, an outbox and the app state.
#[derive(Debug)]
pub struct World {
    pub db: TestDb,
    pub clock: ManualClock,
    pub outbox: Outbox,
    pub state: AppState,
}

/// A world over `db`, with configuration changes applied.
pub fn world_with(db: TestDb, tweak: impl FnOnce(&mut Config)) -> World {
    let clock = ManualClock::new(t0());
    let outbox = Outbox::default();
    let mut config = Config::for_tests(&db.url);
    tweak(&mut config);
    let services = latchkey_service::Services::with_mailer(
        &config,
        db.db.clone(),
        Arc::new(clock.clone()),
        Arc::new(outbox.clone()),
    )
    .unwrap();
    let state = AppState::with_services(config, services, devices());
    World { db, clock, outbox, state }
}

/// A world with the test configuration.
pub fn world(db: TestDb) -> World {
    world_with(db, |_| {})
}

/// Every backend's world.
pub fn worlds() -> Vec<World> {
    TestDb::all().into_iter().map(world).collect()
}

/// Every backend's world, with configuration changes.
pub fn worlds_with(tweak: impl Fn(&mut Config)) -> Vec<World> {
    TestDb::all().into_iter().map(|db| world_with(db, &tweak)).collect()
}

/// The app as a service.
pub async fn service(
    state: AppState,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(build_app(state)).await
}

/// Reads a response's JSON body.
pub async fn json(res: ServiceResponse<impl MessageBody>) -> Value {
    let bytes = test::read_body(res).await;
    serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
}

/// A response, read.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    /// The first error's (code, message).
    pub fn error(&self) -> (String, String) {
        let e = &self.body["errors"][0];
        (e["code"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned())
    }
}

/// Sends a request and reads the answer.
pub async fn call<S, B>(app: &S, req: TestRequest) -> Res
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Res { status, headers, body }
}

/// A JSON POST.
pub fn post(path: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(path).set_json(body)
}

/// Adds a bearer token.
pub fn bearer(req: TestRequest, token: &str) -> TestRequest {
    req.insert_header(("authorization", format!("Bearer {token}")))
}

/// Registers `email` with the test password.
pub async fn register<S, B>(app: &S, email: &str) -> Res
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res =
        call(app, post("/api/v1/auth/register", json!({"email": email, "password": PASSWORD, "first_name": "Ada"})))
            .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    res
}

/// Logs in from a device; returns (access, refresh).
pub async fn login<S, B>(app: &S, email: &str, user_agent: &str) -> (String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}))
        .insert_header(("user-agent", user_agent));
    let res = call(app, req).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    (res.body["access_token"].as_str().unwrap().to_owned(), res.body["refresh_token"].as_str().unwrap().to_owned())
}

/// GET with a bearer token.
pub fn get(path: &str, token: &str) -> TestRequest {
    bearer(TestRequest::get().uri(path), token)
}
