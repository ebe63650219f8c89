//! `/`, `/health`, the envelope for unknown routes and methods, security headers, the size limit.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use latchkey_db::testing::TestDb;
use latchkey_db::{Db, PoolOptions};
use latchkey_domain::ManualClock;
use latchkey_http::AppState;
use latchkey_service::Config;

use crate::{devices, json, service, t0, world};

#[actix_web::test]
async fn health_is_200_when_the_database_answers() {
    for db in TestDb::all() {
        let label = db.label;
        let app = service(world(db).state).await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{label}");
        assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
        let body = json(res).await;
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
    let config = Config::for_tests(url);
    let services = latchkey_service::Services::new(&config, db, Arc::new(ManualClock::new(t0()))).unwrap();
    let state = AppState::with_services(config, services, devices());
    let app = service(state).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers().get("x-content-type-options").unwrap(), "nosniff");
    let body = json(res).await;
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
    let app = service(world(db).state).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("content-type").unwrap(), "text/html; charset=utf-8");
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(body.contains("Welcome to app API") && body.contains("/docs"));
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_in_the_envelope_with_headers() {
    let db = TestDb::sqlite();
    let app = service(world(db).state).await;

    let res = test::call_service(&app, test::TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers().get("content-security-policy").unwrap().to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(
        json(res).await,
        serde_json::json!({"success": false, "errors": [{"code": "SYS_002", "message": "Not found", "field": null}]})
    );

    let res = test::call_service(&app, test::TestRequest::post().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers().get("referrer-policy").unwrap(), "strict-origin-when-cross-origin");
    assert_eq!(json(res).await["errors"][0]["code"], "SYS_003");

    // A trailing slash is redirected to the route (more in `shell.rs`).
    let res = test::call_service(&app, test::TestRequest::get().uri("/health/").to_request()).await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(res.headers().get("location").unwrap(), "/health");
}

#[actix_web::test]
async fn declared_oversized_bodies_are_413_in_the_envelope() {
    let db = TestDb::sqlite();
    let app = service(world(db).state).await;
    let req = test::TestRequest::post().uri("/health").insert_header(("content-length", "10485761")).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
    let body = json(res).await;
    assert_eq!(body["errors"][0]["code"], "REQUEST_TOO_LARGE");
    assert_eq!(body["errors"][0]["message"], "Request body too large. Maximum size is 10MB");
}

#[actix_web::test]
async fn production_adds_hsts() {
    let db = TestDb::sqlite();
    let app = service(crate::world_with(db, |c| c.environment = "production".into()).state).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.headers().get("strict-transport-security").unwrap(), "max-age=31536000; includeSubDomains");
}

#[actix_web::test]
async fn cors_allows_only_the_configured_origins() {
    let db = TestDb::sqlite();
    let app = service(crate::world_with(db, |c| c.cors_origins = vec!["http://localhost:3000".into()]).state).await;
    let preflight = |origin: &'static str| {
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api/v1/auth/login")
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "content-type, x-device-id"))
            .to_request()
    };
    let res = test::call_service(&app, preflight("http://localhost:3000")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h.get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
    assert_eq!(h.get("access-control-max-age").unwrap(), "600");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "preflights get the security headers too");

    let res = test::call_service(&app, preflight("http://evil.example")).await;
    assert!(res.status().is_client_error());
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let req = test::TestRequest::get().uri("/health").insert_header(("origin", "http://localhost:3000")).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.headers().get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    assert_eq!(res.headers().get("access-control-expose-headers").unwrap(), "content-length");
}
