//! What operators see: request ids on every response and every log line, the metrics, and what the logs
//! must never hold.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Duration;
use latchkey_testkit::app::{CHROME_MAC, Client, IPHONE, Res};
use latchkey_testkit::{PASSWORD, TestApp, TestDb};
use serde_json::json;

/// Log lines written while the tests run (a process-wide subscriber, installed once, at INFO).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("no other test installs a global subscriber");
        captured
    })
}

/// The captured lines that mention `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    let bytes = logs().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).lines().filter(|l| l.contains(needle)).map(str::to_owned).collect()
}

fn request_id(res: &Res) -> String {
    res.headers
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id on a {} answer", res.status))
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    for app in TestApp::all_with(|c| {
        c.server.rate_limit_scale = 1.0;
        c.server.cors_origins = vec!["http://localhost:3000".into()];
    })
    .await
    {
        let label = &app.db.label;
        let cases: Vec<(TestRequest, StatusCode)> = vec![
            (TestRequest::get().uri("/health"), StatusCode::OK),
            (TestRequest::get().uri("/no/such/route"), StatusCode::NOT_FOUND),
            (TestRequest::delete().uri("/health"), StatusCode::METHOD_NOT_ALLOWED),
            (TestRequest::get().uri("/api/v1/users/me"), StatusCode::UNAUTHORIZED),
            (
                TestRequest::post().uri("/api/v1/auth/register").set_json(json!({"email": "not-an-email"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                TestRequest::post().uri("/api/v1/auth/login").insert_header(("content-length", "20000000")),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                TestRequest::default()
                    .method(actix_web::http::Method::OPTIONS)
                    .uri("/api/v1/auth/login")
                    .insert_header(("origin", "http://localhost:3000"))
                    .insert_header(("access-control-request-method", "POST")),
                StatusCode::OK,
            ),
        ];
        for (req, expected) in cases {
            let res = app.call(req).await;
            assert_eq!(res.status, expected, "{label}: {:?}", res.body);
            let id = request_id(&res);
            assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4, "{label}: {id}");
        }

        // A preflight from an origin that is not allowed is refused, and still carries an id.
        let req = TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api/v1/auth/login")
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("access-control-request-method", "POST"));
        let res = app.call(req).await;
        assert!(res.status.is_client_error(), "{label}: {}", res.status);
        request_id(&res);

        // The 11th login in a minute from one address is rate limited (the limiter answers with an error
        // rather than a response): the 429 has an id too.
        let mut last = None;
        for _ in 0..11 {
            let req = app
                .post("/api/v1/auth/login")
                .json(json!({"email": "nobody@example.com", "password": "Wrong-Pass-99!"}))
                .peer("192.0.2.44:5000".parse().unwrap());
            last = Some(req.await);
        }
        let res = last.unwrap();
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{label}");
        request_id(&res);
    }
}

#[actix_web::test]
async fn a_clients_request_id_is_kept_when_safe_and_replaced_otherwise() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let with_id = |id: &str| app.get("/no/such/route").header(("x-request-id", id));

    let res = with_id("edge-4f1c:abc_DEF.9/x=y+z@lb").await;
    assert_eq!(request_id(&res), "edge-4f1c:abc_DEF.9/x=y+z@lb");

    let long = "a".repeat(129);
    for bad in [long.as_str(), "two words", "a\"quote", "semi;colon", "tab\there"] {
        let res = with_id(bad).await;
        let id = request_id(&res);
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} was replaced by {id:?}");
    }
    let exactly_max = "b".repeat(128);
    assert_eq!(request_id(&with_id(&exactly_max).await), exactly_max);
}

/// Every log line of a request carries its id, including lines written on the blocking pool; no line
/// carries a token, a password or a refresh token's id.
#[actix_web::test]
async fn log_lines_carry_the_request_id_and_no_secrets() {
    logs();
    for app in TestApp::all().await {
        let label = &app.db.label;
        app.register("logs@example.com").await;
        let (access, refresh) = app.login("logs@example.com", CHROME_MAC).await;
        let rotated = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(rotated.status, StatusCode::OK);
        app.clock.advance(Duration::seconds(60));

        // Presenting the rotated-out token after the grace window is reuse: the service logs a warning
        // from the blocking pool's thread.
        let id = format!("reuse-{}", uuid::Uuid::new_v4().simple());
        let req = app
            .post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": refresh}))
            .header(("x-request-id", id.as_str()));
        let res = req.await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{label}");
        assert_eq!(request_id(&res), id);
        let lines = lines_with(&id);
        assert!(
            lines.iter().any(|l| l.contains("refresh token reuse") && l.contains("WARN")),
            "{label}: the service's warning lacks the request id: {lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("status=401") && l.contains("path=/api/v1/auth/refresh")),
            "{label}: no access line for the request: {lines:#?}"
        );

        let failed_id = format!("failed-{}", uuid::Uuid::new_v4().simple());
        let req = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "logs@example.com", "password": "Wrong-Pass-99!"}))
            .header(("x-request-id", failed_id.as_str()));
        assert_eq!(req.await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(lines_with(&failed_id).len(), 1, "{label}: one access line");

        let jti = |token: &str| -> String {
            let payload = token.split('.').nth(1).unwrap();
            let bytes = base64_url_decode(payload);
            let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            claims["jti"].as_str().unwrap().to_owned()
        };
        let refresh_jti = jti(&refresh);
        for secret in [access.as_str(), refresh.as_str(), refresh_jti.as_str(), PASSWORD, "Wrong-Pass-99!"] {
            let found = lines_with(secret);
            assert!(found.is_empty(), "{label}: a log line holds a secret: {found:#?}");
        }
    }
}

/// Decodes unpadded base64url (JWT segments) without another dependency.
fn base64_url_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s.as_bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// One sample's value from the Prometheus text, or 0 when the series does not exist yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn scrape(app: &Client) -> String {
    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    let content_type = res.header("content-type");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(res.headers.get("x-request-id").is_some());
    res.text
}

/// The counters move with logins, refreshes, reuse and revocations. (Other tests run in the same
/// process and move them too, so each is checked to have grown by at least what this test did.)
#[actix_web::test]
async fn domain_counters_move_where_the_events_happen() {
    for app in TestApp::all().await {
        let label = &app.db.label;
        app.register("metrics@example.com").await;
        let before = scrape(&app).await;

        let (access, refresh) = app.login("metrics@example.com", CHROME_MAC).await;
        let bad =
            app.post("/api/v1/auth/login").json(json!({"email": "metrics@example.com", "password": "Wrong-Pass-99!"}));
        assert_eq!(bad.await.status, StatusCode::UNAUTHORIZED);
        let rotated = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(rotated.status, StatusCode::OK);
        app.clock.advance(Duration::seconds(60));
        let reuse = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
        let (access2, _) = app.login("metrics@example.com", IPHONE).await;
        let res = app.post("/api/v1/auth/logout-all").bearer(&access2).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        drop(access);

        let after = scrape(&app).await;
        let grew = |series: &str, by: f64| {
            let (b, a) = (sample(&before, series), sample(&after, series));
            assert!(a - b >= by, "{label}: {series} went from {b} to {a}, expected +{by}\n{after}");
        };
        grew(r#"latchkey_logins_total{outcome="succeeded"}"#, 2.0);
        grew(r#"latchkey_logins_total{outcome="failed"}"#, 1.0);
        grew(r#"latchkey_refreshes_total{outcome="rotated"}"#, 1.0);
        grew(r#"latchkey_refreshes_total{outcome="refused"}"#, 1.0);
        grew("latchkey_refresh_token_reuse_total", 1.0);
        grew("latchkey_sessions_created_total", 2.0);
        grew(r#"latchkey_sessions_revoked_total{reason="refresh_token_reuse"}"#, 1.0);
        grew(r#"latchkey_sessions_revoked_total{reason="logout_all"}"#, 1.0);
        assert!(after.contains("# TYPE latchkey_logins_total counter"), "{label}");
        assert!(after.contains("latchkey_db_pool_max_connections "), "{label}");
        assert!(after.contains("latchkey_password_hashes_in_flight "), "{label}");
        assert!(after.contains("latchkey_password_hashes_queued "), "{label}");
    }
}

#[actix_web::test]
async fn throttled_logins_are_counted() {
    for app in TestApp::all_with(|c| c.sessions.login_max_failures = 1).await {
        app.register("throttle-metrics@example.com").await;
        let before = scrape(&app).await;
        let wrong = || {
            app.post("/api/v1/auth/login")
                .json(json!({"email": "throttle-metrics@example.com", "password": "Wrong-Pass-99!"}))
        };
        assert_eq!(wrong().await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong().await.status, StatusCode::TOO_MANY_REQUESTS);
        let after = scrape(&app).await;
        let series = r#"latchkey_logins_total{outcome="throttled"}"#;
        assert!(sample(&after, series) - sample(&before, series) >= 1.0, "{}", app.db.label);
    }
}

/// Requests are labelled by the route *pattern*; paths that match no route share one label; invented
/// methods share one label.
#[actix_web::test]
async fn http_metrics_label_routes_by_pattern() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let session = uuid::Uuid::new_v4();
    let res = app.delete(&format!("/api/v1/sessions/{session}")).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let junk = format!("/junk-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(app.get(&junk).await.status, StatusCode::NOT_FOUND);
    let brew = TestRequest::default().method(actix_web::http::Method::from_bytes(b"BREW").unwrap()).uri("/health");
    assert_eq!(app.call(brew).await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    // A trailing slash is redirected (307) before any route matches.
    let slash = app.get("/health/").await;
    assert_eq!(slash.status, StatusCode::TEMPORARY_REDIRECT);
    request_id(&slash);

    let text = scrape(&app).await;
    let series = |s: &str| sample(&text, s);
    assert!(
        series(r#"latchkey_http_requests_total{method="DELETE",route="/api/v1/sessions/{session_id}",status="401"}"#)
            >= 1.0,
        "{text}"
    );
    assert!(series(r#"latchkey_http_requests_total{method="GET",route="unmatched",status="404"}"#) >= 1.0);
    assert!(series(r#"latchkey_http_requests_total{method="other",route="/health",status="405"}"#) >= 1.0);
    assert!(series(r#"latchkey_http_requests_total{method="GET",route="unmatched",status="307"}"#) >= 1.0);
    assert!(
        series(
            r#"latchkey_http_request_duration_seconds_count{method="DELETE",route="/api/v1/sessions/{session_id}"}"#
        ) >= 1.0,
        "{text}"
    );
    assert!(text.contains(r#"latchkey_http_request_duration_seconds_bucket{method="GET",route="/health",le="0.005"}"#));
    assert!(!text.contains(&session.to_string()), "a raw path became a label");
    assert!(!text.contains(&junk), "a raw path became a label");
    assert!(!text.contains("BREW"));
}

/// With `METRICS_ADDR`, `/metrics` is not on the main port; its own app serves it (and nothing else).
#[actix_web::test]
async fn metrics_move_to_their_own_listener_with_metrics_addr() {
    let app = TestApp::with(TestDb::sqlite(), |c| c.server.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let metrics = Client::serve(app.state.clone(), latchkey_http::metrics::metrics_app(app.state.clone())).await;
    let text = scrape(&metrics).await;
    assert!(text.contains("latchkey_db_pool_connections "), "{text}");
    let res = metrics.get("/api/v1/users/me").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error().0, "SYS_002");
    request_id(&res);
}
