//! `/`, `/health`, the envelope for unknown routes and methods, security headers, the size limit.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use latchkey_db::{Db, PoolOptions};
use latchkey_testkit::app::{Client, state};
use latchkey_testkit::clock::clock;
use latchkey_testkit::mail::Outbox;
use latchkey_testkit::{TestApp, TestDb};

#[actix_web::test]
async fn health_is_200_when_the_database_answers() {
    for db in TestDb::all() {
        let label = db.label;
        let app = TestApp::new(db).await;
        let res = app.get("/health").await;
        assert_eq!(res.status, StatusCode::OK, "{label}");
        assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
        let body = res.body;
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["timestamp"], "2026-11-28T12:00:00.000000Z");
        assert_eq!(body["environment"], "test");
        assert_eq!(body["checks"]["database"]["status"], "healthy");
        assert_eq!(body["checks"]["database"]["message"], "Database connection successful");
    }
}

#[actix_web::test]
async fn health_is_503_when_the_database_does_not_answer() {
    // Nothing listens on port 1.
    let url = "postgres://latchkey@127.0.0.1:1/nowhere?connect_timeout=1";
    let db =
        Db::from_url(url, PoolOptions { connection_timeout: Duration::from_millis(500), ..PoolOptions::default() })
            .unwrap();
    let app = Client::start(state(db, url, &clock(), Arc::new(Outbox::default()), |_| {})).await;
    let res = app.get("/health").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff");
    let body = res.body;
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["database"]["status"], "unhealthy");
    // Nothing about the database (host, port, driver text) reaches the public body.
    assert_eq!(body["checks"]["database"]["message"], "Database connection failed");
    let text = body.to_string();
    assert!(!text.contains("127.0.0.1") && !text.contains("refused") && !text.contains("nowhere"), "{text}");
}

#[actix_web::test]
async fn root_page_links_to_the_docs() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db).await;
    let res = app.get("/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers.get("content-type").unwrap(), "text/html; charset=utf-8");
    let body = res.text;
    assert!(body.contains("Welcome to app API") && body.contains("/docs"));
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_in_the_envelope_with_headers() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db).await;

    let res = app.get("/nope").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(
        res.body,
        serde_json::json!({"success": false, "errors": [{"code": "SYS_002", "message": "Not found", "field": null}]})
    );

    let res = app.post("/health").await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers.get("referrer-policy").unwrap(), "strict-origin-when-cross-origin");
    assert_eq!(res.body["errors"][0]["code"], "SYS_003");

    // A trailing slash is redirected to the route (more in `shell.rs`).
    let res = app.get("/health/").await;
    assert_eq!(res.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(res.headers.get("location").unwrap(), "/health");
}

#[actix_web::test]
async fn declared_oversized_bodies_are_413_in_the_envelope() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db).await;
    let res = app.post("/health").header(("content-length", "10485761")).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
    let body = res.body;
    assert_eq!(body["errors"][0]["code"], "REQUEST_TOO_LARGE");
    assert_eq!(body["errors"][0]["message"], "Request body too large. Maximum size is 10MB");
}

#[actix_web::test]
async fn production_adds_hsts() {
    let db = TestDb::sqlite();
    let app = TestApp::with(db, |c| c.environment = "production".into()).await;
    let res = app.get("/health").await;
    assert_eq!(res.headers.get("strict-transport-security").unwrap(), "max-age=31536000; includeSubDomains");
}

#[actix_web::test]
async fn cors_allows_only_the_configured_origins() {
    let db = TestDb::sqlite();
    let app = TestApp::with(db, |c| c.server.cors_origins = vec!["http://localhost:3000".into()]).await;
    let preflight = |origin: &'static str| {
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api/v1/auth/login")
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "content-type, x-device-id, x-device-token"))
    };
    let res = app.call(preflight("http://localhost:3000")).await;
    assert_eq!(res.status, StatusCode::OK);
    let h = &res.headers;
    assert_eq!(h.get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
    assert_eq!(h.get("access-control-max-age").unwrap(), "600");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "preflights get the security headers too");

    let res = app.call(preflight("http://evil.example")).await;
    assert!(res.status.is_client_error());
    assert!(res.headers.get("access-control-allow-origin").is_none());

    let res = app.get("/health").header(("origin", "http://localhost:3000")).await;
    assert_eq!(res.headers.get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    let exposed = res.headers.get("access-control-expose-headers").unwrap().to_str().unwrap();
    let mut exposed: Vec<&str> = exposed.split(", ").collect();
    exposed.sort_unstable();
    assert_eq!(exposed, ["content-length", "x-device-token"], "a cross-site app reads the device token");
}

/// A database that cannot be reached is 503 `SYS_001` in the envelope, with the security headers and
/// `Retry-After`, once the pool has waited its timeout.
#[actix_web::test]
async fn api_requests_are_503_with_retry_after_when_the_database_is_unreachable() {
    // Nothing listens on port 1.
    let url = "postgres://latchkey@127.0.0.1:1/nowhere?connect_timeout=1";
    let db =
        Db::from_url(url, PoolOptions { connection_timeout: Duration::from_millis(300), ..PoolOptions::default() })
            .unwrap();
    let app = Client::start(state(db, url, &clock(), Arc::new(Outbox::default()), |_| {})).await;
    let res = app
        .post("/api/v1/auth/register")
        .json(serde_json::json!({
            "email": "ada@example.com", "password": "Correct-Horse-9!", "first_name": "Ada"
        }))
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers.get("retry-after").unwrap(), "5");
    assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
    let body = res.body;
    assert_eq!(
        body,
        serde_json::json!({"success": false, "errors": [{
            "code": "SYS_001", "message": "Service temporarily unavailable", "field": null
        }]})
    );
}

/// Reads one `Content-Length` response from a blocking stream: (lower-cased head, body).
fn read_one_response(stream: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read as _;
    let mut buf = Vec::new();
    let mut byte = [0; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the connection closed in the head: {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap().to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length: ")).map(|v| v.trim().parse().unwrap()).unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

/// After SIGTERM/SIGINT the server drains: the answer to a request on a kept-alive connection says
/// `Connection: close` and the connection is closed after it, so clients stop sending on it and the
/// graceful shutdown need not wait out its timeout.
#[actix_web::test]
async fn once_draining_every_answer_closes_its_connection() {
    use std::io::{Read as _, Write as _};
    let app = TestApp::new(TestDb::sqlite()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        latchkey_http::server::serve(app.state.clone(), latchkey_http::server::Listen::Listener(listener)).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let draining = app.state.draining.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        stream.write_all(request).unwrap();
        let (head, body) = read_one_response(&mut stream);
        assert!(head.starts_with("http/1.1 200") && body.contains("healthy"), "{head}{body}");
        assert!(!head.contains("connection: close"), "{head}");

        draining.start();
        stream.write_all(request).unwrap();
        let (head, body) = read_one_response(&mut stream);
        assert!(head.starts_with("http/1.1 200") && body.contains("healthy"), "{head}{body}");
        assert!(head.contains("connection: close"), "{head}");
        // And the server closes it.
        let mut rest = Vec::new();
        assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");
    })
    .await
    .unwrap();
    handle.stop(true).await;
}
