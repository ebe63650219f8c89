//! Request ids and the request's log context.
//!
//! Every request gets an id: the client's `X-Request-Id` when it is short and made of safe characters
//! (so a proxy's or a client's id carries through), otherwise a fresh UUID. The id is echoed on every
//! response — errors, 404/405/413/429 and answers of the middleware included — and every log line of the
//! request carries it: the request runs inside a `request` span holding the id, and the blocking-pool
//! helper (`routes::run`) re-enters that span on its thread.
//!
//! Once the server is shutting down, it also marks every answer `Connection: close` (see
//! [`Draining`](crate::state::Draining)).
//!
//! This middleware also writes the access line (`ACCESS_LOG`: every request, none, or a random sample
//! plus every 5xx). It is the outermost layer, so its timing covers everything the server does for the
//! request.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use tracing::Instrument as _;

use crate::proxies::client_ip;
use crate::settings::AccessLog;
use crate::state::AppState;

/// The header that carries the id, both ways.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied id that is kept; a longer one is replaced by a generated id.
pub const MAX_LEN: usize = 128;

/// A request's id: ASCII letters, digits and `-_.:+=@/`, 1 to [`MAX_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The client's id, if it is acceptable: bounded, and nothing that could forge or break a log line
    /// (no spaces, quotes, control characters or non-ASCII).
    pub fn from_client(value: &HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:+=@/".contains(b);
        (!bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(safe)).then(|| RequestId(value.clone()))
    }

    /// A fresh random (v4) UUID, from the thread-local generator rather than a system call per request.
    pub fn generate() -> RequestId {
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid.hyphenated().encode_lower(&mut buf);
        RequestId(HeaderValue::from_str(text).expect("a UUID is a valid header value"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Both constructors admit ASCII only.
        self.0.to_str().unwrap_or_default()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Handlers may take the id as an argument (e.g. to pass it on to another service).
impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<RequestId, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req.extensions().get::<RequestId>().cloned().unwrap_or_else(RequestId::generate)))
    }
}

/// What the access line needs, captured before the request is handed on (only when it will be written).
struct AccessLine {
    method: Method,
    path: String,
    client_ip: Option<std::net::IpAddr>,
    sampled: bool,
}

/// The middleware function (`actix_web::middleware::from_fn`); wrap it outermost.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = req.headers().get(X_REQUEST_ID).and_then(RequestId::from_client).unwrap_or_else(RequestId::generate);
    req.extensions_mut().insert(id.clone());

    let policy = req.app_data::<web::Data<AppState>>().map_or(AccessLog::Off, |s| s.server.access_log);
    let line = match policy {
        AccessLog::Off => None,
        _ if !tracing::enabled!(tracing::Level::INFO) => None,
        AccessLog::All | AccessLog::Sample(_) => Some(AccessLine {
            method: req.method().clone(),
            path: req.path().to_owned(),
            client_ip: client_ip(
                req.peer_addr().map(|a| a.ip()),
                req.headers(),
                req.app_data::<web::Data<AppState>>().map_or(&[][..], |s| &s.server.trusted_proxies),
            ),
            sampled: match policy {
                AccessLog::Sample(p) => rand::random::<f64>() < p,
                _ => true,
            },
        }),
    };

    let span = tracing::info_span!("request", request_id = %id);
    let outcome = next.call(req).instrument(span.clone()).await;

    let (outcome, status) = match outcome {
        Ok(mut res) => {
            res.headers_mut().insert(X_REQUEST_ID, id.0);
            // Shutting down: this answer closes its connection (see `Draining`).
            if res.request().app_data::<web::Data<AppState>>().is_some_and(|s| s.draining.is_on()) {
                res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
            }
            let status = res.status();
            (Ok(res.map_into_boxed_body()), status)
        }
        // An inner layer answered with an error rather than a response (a middleware may; ours do not):
        // render it here so the id can go on it, and hand it on as an error whose response is this one.
        Err(e) => {
            let mut res = e.error_response();
            res.headers_mut().insert(X_REQUEST_ID, id.0);
            let status = res.status();
            (Err(InternalError::from_response(e, res).into()), status)
        }
    };

    if let Some(line) = line
        && (line.sampled || status.is_server_error())
    {
        write_access_line(&span, &line, status, started);
    }
    outcome
}

fn write_access_line(span: &tracing::Span, line: &AccessLine, status: StatusCode, started: Instant) {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let ip = line.client_ip.map(tracing::field::display);
    tracing::info!(
        parent: span,
        method = %line.method,
        path = %line.path,
        status = status.as_u16(),
        duration_ms = format_args!("{duration_ms:.2}"),
        client_ip = ip,
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(v: &str) -> Option<RequestId> {
        RequestId::from_client(&HeaderValue::from_str(v).unwrap())
    }

    #[test]
    fn client_ids_are_bounded_and_safe() {
        assert_eq!(client("abc-123_x.y:z").unwrap().as_str(), "abc-123_x.y:z");
        assert!(client("0123456789abcdef0123456789abcdef/=+@").is_some());
        assert!(client(&"a".repeat(MAX_LEN)).is_some());
        assert!(client(&"a".repeat(MAX_LEN + 1)).is_none());
        assert!(client("").is_none());
        assert!(client("a b").is_none());
        assert!(client("a\"b").is_none());
        assert!(client("id\tx").is_none());
        assert!(client("a=b;c").is_none());
        assert!(RequestId::from_client(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()).is_none());
    }

    /// A layer inside that fails with an error (rather than answering with a response) still gets the id
    /// on what the client receives, with the error's status.
    #[actix_web::test]
    async fn errors_from_inner_layers_carry_the_id() {
        use actix_web::{App, HttpResponse, test};
        async fn refuse(
            _: ServiceRequest,
            _: Next<impl MessageBody + 'static>,
        ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
            Err(actix_web::error::ErrorTooManyRequests("slow down"))
        }
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(refuse))
                .wrap(actix_web::middleware::from_fn(request_context))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let req = test::TestRequest::get().uri("/").insert_header(("x-request-id", "abc-1")).to_request();
        let err = match test::try_call_service(&app, req).await {
            Err(e) => e,
            Ok(res) => panic!("expected an error, got {}", res.status()),
        };
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(X_REQUEST_ID).unwrap(), "abc-1");
    }

    #[test]
    fn generated_ids_are_v4_uuids() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert!(client(a.as_str()).is_some());
    }
}
