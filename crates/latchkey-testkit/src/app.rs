//! The real app (`build_app`) in process, and a fluent client for it: `app.patch(path).bearer(t).json(v)
//! .await` sends the request and reads the answer into a [`Res`]. [`TestApp`] is one test's world: a test
//! database, a manual clock at [`t0`](crate::t0), an outbox and the app over them.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use actix_web::App;
use actix_web::body::MessageBody;
use actix_web::dev::{Service as _, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, TryIntoHeaderPair};
use actix_web::test::{self, TestRequest};
use latchkey_db::Db;
use latchkey_domain::{DeviceParser, ManualClock};
use latchkey_http::{AppState, build_app};
use latchkey_service::Services;
use latchkey_service::mail::EmailSender;
use serde_json::{Value, json};

use crate::PASSWORD;
use crate::clock::clock;
use crate::config::{Setup, config, server};
use crate::db::TestDb;
use crate::mail::Outbox;

/// Chrome on a Mac, as a User-Agent.
pub const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
                              Chrome/120.0.0.0 Safari/537.36";
/// Safari on an iPhone, as a User-Agent.
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
                          Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// The User-Agent parser is costly to build: one per test process.
pub fn devices() -> Arc<DeviceParser> {
    static PARSER: OnceLock<Arc<DeviceParser>> = OnceLock::new();
    PARSER.get_or_init(|| Arc::new(DeviceParser::new())).clone()
}

/// The app's state over the pool `db` (built from `url`): the test configuration changed by `tweak`, the
/// clock and the mailer given.
pub fn state(
    db: Db,
    url: &str,
    clock: &ManualClock,
    mailer: Arc<dyn EmailSender>,
    tweak: impl FnOnce(&mut Setup),
) -> AppState {
    let mut setup = Setup { server: server(), config: config(url) };
    tweak(&mut setup);
    let Setup { server, config } = setup;
    let services = Services::with_mailer(&config, db, Arc::new(clock.clone()), mailer).unwrap();
    latchkey_http::app::state(server, config, services, devices())
}

/// An answer, read.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when empty or not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl Res {
    /// The first error's (code, message).
    pub fn error(&self) -> (String, String) {
        let e = &self.body["errors"][0];
        (e["code"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned())
    }

    /// A header's value as text (`""` when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }
}

/// An account made for a test, logged in.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

type Answer = Pin<Box<dyn Future<Output = Result<ServiceResponse, actix_web::Error>>>>;

/// The app as a service in this thread, with its state.
pub struct Client {
    /// The state the app was built over.
    pub state: AppState,
    call: Rc<dyn Fn(actix_http::Request) -> Answer>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("state", &self.state).finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the app over `state` (in an actix runtime: `#[actix_web::test]`).
    pub async fn start(state: AppState) -> Client {
        Client::serve(state.clone(), build_app(state)).await
    }

    /// Serves another `app` (a probe route, say) with the client's requests; `state` is what it runs on.
    pub async fn serve<T, B>(state: AppState, app: App<T>) -> Client
    where
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        let app = Rc::new(test::init_service(app).await);
        let call = Rc::new(move |req: actix_http::Request| -> Answer {
            let answer = app.call(req);
            Box::pin(async move { answer.await.map(ServiceResponse::map_into_boxed_body) })
        });
        Client { state, call }
    }

    /// Sends `req` and reads the answer.
    pub async fn call(&self, req: TestRequest) -> Res {
        let res = (self.call)(req.to_request()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Res { status, headers, body, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// A request to build on, e.g. `app.request(TestRequest::default().method(m).uri(p))`.
    pub fn request(&self, req: TestRequest) -> Call<'_> {
        Call { client: self, req }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Call<'_> {
        self.request(TestRequest::get().uri(path))
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> Call<'_> {
        self.request(TestRequest::post().uri(path))
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> Call<'_> {
        self.request(TestRequest::put().uri(path))
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> Call<'_> {
        self.request(TestRequest::patch().uri(path))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.request(TestRequest::delete().uri(path))
    }

    /// Registers `email` (first name Ada) with [`PASSWORD`]; the answer must be 201.
    pub async fn register(&self, email: &str) -> Res {
        let body = json!({"email": email, "password": PASSWORD, "first_name": "Ada"});
        let res = self.post("/api/v1/auth/register").json(body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
        res
    }

    /// Logs in from a device (a User-Agent); returns (access, refresh).
    pub async fn login(&self, email: &str, user_agent: &str) -> (String, String) {
        let res = self
            .post("/api/v1/auth/login")
            .header(("user-agent", user_agent))
            .json(json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
        (res.body["access_token"].as_str().unwrap().to_owned(), res.body["refresh_token"].as_str().unwrap().to_owned())
    }

    /// A new user at `email`, registered through the API and logged in from Chrome on a Mac.
    pub async fn user(&self, email: &str) -> Account {
        self.user_on(email, CHROME_MAC).await
    }

    /// A new user at `email`, registered through the API and logged in from `user_agent`.
    pub async fn user_on(&self, email: &str, user_agent: &str) -> Account {
        let id = self.register(email).await.body["id"].as_str().unwrap().to_owned();
        let (access, refresh) = self.login(email, user_agent).await;
        Account { id, access, refresh }
    }

    /// A new superuser at `email`, made through the service (as `latchkey create-superuser` does) and
    /// logged in from Chrome on a Mac.
    pub async fn superuser(&self, email: &str) -> Account {
        assert!(latchkey_service::registration::create_superuser(&self.state.services, email, PASSWORD).unwrap());
        let (access, refresh) = self.login(email, CHROME_MAC).await;
        let me = self.get("/api/v1/users/me").bearer(&access).await;
        Account { id: me.body["id"].as_str().unwrap().to_owned(), access, refresh }
    }
}

/// A request being built; `.await` sends it.
pub struct Call<'a> {
    client: &'a Client,
    req: TestRequest,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

impl Call<'_> {
    /// With `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(("authorization", format!("Bearer {token}")))
    }

    /// With a header (`("name", "value")`).
    pub fn header(self, header: impl TryIntoHeaderPair) -> Self {
        Call { req: self.req.insert_header(header), ..self }
    }

    /// From the peer address `addr`.
    pub fn peer(self, addr: SocketAddr) -> Self {
        Call { req: self.req.peer_addr(addr), ..self }
    }

    /// With a JSON body.
    pub fn json(self, body: Value) -> Self {
        Call { req: self.req.set_json(body), ..self }
    }
}

impl<'a> IntoFuture for Call<'a> {
    type Output = Res;
    type IntoFuture = Pin<Box<dyn Future<Output = Res> + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.client.call(self.req))
    }
}

/// One test's world: a database, a clock at [`t0`](crate::t0), an outbox, and the app over them (whose
/// [`Client`] it derefs to, so `app.get(..)`, `app.state`).
#[derive(Debug)]
pub struct TestApp {
    pub db: TestDb,
    pub clock: ManualClock,
    pub outbox: Outbox,
    client: Client,
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// The app over `db` with the test configuration.
    pub async fn new(db: TestDb) -> TestApp {
        TestApp::with(db, |_| {}).await
    }

    /// The app over `db`, with configuration changes.
    pub async fn with(db: TestDb, tweak: impl FnOnce(&mut Setup)) -> TestApp {
        let (clock, outbox) = (clock(), Outbox::default());
        let state = state(db.db.clone(), &db.url, &clock, Arc::new(outbox.clone()), tweak);
        TestApp { db, clock, outbox, client: Client::start(state).await }
    }

    /// The id of the account at `email`, read from the database.
    pub fn user_id(&self, email: &str) -> uuid::Uuid {
        let mut conn = self.db.db.conn().unwrap();
        latchkey_db::repo::users::find_by_email(&mut conn, email).unwrap().unwrap().id.0
    }

    /// The app on every backend.
    pub async fn all() -> Vec<TestApp> {
        TestApp::all_with(|_| {}).await
    }

    /// The app on every backend, with configuration changes.
    pub async fn all_with(tweak: impl Fn(&mut Setup)) -> Vec<TestApp> {
        let mut apps = Vec::new();
        for db in TestDb::all() {
            apps.push(TestApp::with(db, &tweak).await);
        }
        apps
    }
}
