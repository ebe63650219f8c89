//! The shell the routers are built on: the `AdminUser` extractor, every `/admin` route refusing a normal
//! user, the rate limits declared by the routers, and list-query bounds, on both databases.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::{App, HttpResponse, web};
use latchkey_http::extract::AdminUser;
use serde_json::json;

use latchkey_testkit::TestApp;
use latchkey_testkit::app::{CHROME_MAC, Client};

#[actix_web::test]
async fn admin_user_lets_only_superusers_through() {
    for app in TestApp::all().await {
        app.register("plain@example.com").await;
        let (plain, _) = app.login("plain@example.com", CHROME_MAC).await;
        let admin = app.superuser("root@example.com").await.access;

        // A route that takes the extractor, on the real state.
        let probe = App::new().app_data(web::Data::new(app.state.clone())).route(
            "/probe",
            web::get().to(|caller: AdminUser| async move { HttpResponse::Ok().body(caller.user.email.clone()) }),
        );
        let probe = Client::serve(app.state.clone(), probe).await;
        let res = probe.get("/probe").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", app.db.label);
        assert_eq!(res.error(), ("AUTH_006".into(), "Not authenticated".into()));
        let res = probe.get("/probe").bearer(&plain).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", app.db.label);
        assert_eq!(res.error(), ("AUTH_004".into(), "Superuser privileges required".into()));
        let res = probe.get("/probe").bearer(&admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
        assert_eq!(res.text, "root@example.com");
    }
}

/// Every operation under `/api/v1/admin`, whatever router module adds it, refuses a logged-in
/// non-superuser with 403 before reading its input.
#[actix_web::test]
async fn every_admin_route_refuses_a_normal_user() {
    for app in TestApp::all().await {
        app.register("nobody@example.com").await;
        let (token, _) = app.login("nobody@example.com", CHROME_MAC).await;
        for endpoint in latchkey_http::routes::all().iter().filter(|e| e.path.starts_with("/api/v1/admin")) {
            let uri: String = endpoint
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let req = TestRequest::default().method(endpoint.method.clone()).uri(&uri);
            let res = app.request(req).bearer(&token).json(json!({})).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{} {} ({})", endpoint.method, endpoint.path, app.db.label);
            assert_eq!(res.error(), ("AUTH_004".into(), "Superuser privileges required".into()));
        }
    }
}

#[actix_web::test]
async fn the_routers_limits_are_the_ones_served() {
    let app = TestApp::all_with(|c| c.server.rate_limit_scale = 1.0).await.remove(0);
    let limited: Vec<(String, u32)> = latchkey_http::routes::all()
        .iter()
        .filter_map(|e| Some((format!("{} {}", e.method, e.path), e.per_minute?)))
        .collect();
    assert_eq!(app.state.limits.len(), limited.len(), "one shared limiter per limited operation");
    for (route, per_minute) in [
        ("POST /api/v1/auth/register", 5),
        ("POST /api/v1/auth/login", 10),
        ("POST /api/v1/auth/password-reset/request", 3),
        ("GET /api/v1/sessions/me", 30),
        ("DELETE /api/v1/sessions/{session_id}", 10),
        ("PATCH /api/v1/users/me/password", 5),
    ] {
        assert!(limited.contains(&(route.to_owned(), per_minute)), "{route}: {limited:?}");
    }
    assert!(!limited.iter().any(|(r, _)| r == "PATCH /api/v1/sessions/{session_id}"), "renaming is not limited");
    let off = TestApp::all_with(|c| c.server.rate_limit_scale = 0.0).await.remove(0);
    assert!(off.state.limits.is_empty(), "RATE_LIMIT_SCALE=0 turns every limit off");
}

/// `page` is bounded by what the document says (int32): no overflow, no echo of a clamped value.
#[actix_web::test]
async fn page_numbers_are_bounded_as_documented() {
    for app in TestApp::all().await {
        app.register("pages@example.com").await;
        let (token, _) = app.login("pages@example.com", CHROME_MAC).await;
        for page in ["2147483648", "9223372036854775807"] {
            let res = app.get(&format!("/api/v1/sessions/me/history?page={page}")).bearer(&token).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{page} ({})", app.db.label);
            assert_eq!(res.body["errors"][0]["field"], "page");
            assert_eq!(res.body["errors"][0]["message"], "Input should be less than or equal to 2147483647");
        }
        let res = app.get("/api/v1/sessions/me/history?page=2147483647&limit=100").bearer(&token).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        assert_eq!(
            res.body["pagination"],
            json!({"total": 1, "page": 2147483647, "page_size": 0, "total_pages": 1, "has_next": false, "has_prev": true})
        );
        let doc: serde_json::Value = serde_json::from_str(latchkey_http::routes::docs::json()).unwrap();
        let params = doc["paths"]["/api/v1/sessions/me/history"]["get"]["parameters"].as_array().unwrap();
        let page = params.iter().find(|p| p["name"] == "page").unwrap();
        assert_eq!(
            (page["schema"]["maximum"].as_i64(), page["schema"]["minimum"].as_i64()),
            (Some(2147483647), Some(1))
        );
    }
}

/// A trailing slash answers 307 to the canonical path (query kept, method kept), in the usual envelope of
/// headers; only served paths are redirected.
#[actix_web::test]
async fn a_trailing_slash_is_redirected_to_the_canonical_path() {
    for app in TestApp::all().await {
        app.register("slash@example.com").await;
        let (token, _) = app.login("slash@example.com", CHROME_MAC).await;

        let res = app.get("/api/v1/sessions/me/history/?page=1&limit=5").bearer(&token).await;
        assert_eq!(res.status, StatusCode::TEMPORARY_REDIRECT, "{}", app.db.label);
        assert_eq!(res.headers.get("location").unwrap(), "/api/v1/sessions/me/history?page=1&limit=5");
        assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff");
        let res = app.get("/api/v1/users/me//").bearer(&token).await;
        assert_eq!(res.headers.get("location").unwrap(), "/api/v1/users/me");
        let res = app.post("/api/v1/auth/login/").json(json!({})).await;
        assert_eq!(res.status, StatusCode::TEMPORARY_REDIRECT, "POST too: 307 keeps the method and body");
        assert_eq!(res.headers.get("location").unwrap(), "/api/v1/auth/login");
        let res = app.get("/api/v1/sessions/0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d/").bearer(&token).await;
        assert_eq!(res.headers.get("location").unwrap(), "/api/v1/sessions/0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d");

        for unknown in ["/api/v1/nothing-here/", "//example.com/", "/docs/no-such-file.js/x/"] {
            let res = app.get(unknown).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{unknown}");
            assert_eq!(res.error().0, "SYS_002");
        }
        // Without the slash nothing changes.
        assert_eq!(app.get("/api/v1/users/me").bearer(&token).await.status, StatusCode::OK);
    }
}

/// A malformed UUID in a path answers pydantic's message, with its 1-based position.
#[actix_web::test]
async fn malformed_path_uuids_get_pydantics_message() {
    for app in TestApp::all().await {
        app.register("uuid@example.com").await;
        let (token, _) = app.login("uuid@example.com", CHROME_MAC).await;
        for (id, reason) in [
            (
                "not-a-uuid",
                "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1",
            ),
            (
                "3fa85f64-5717-4562-b3fc-2c963f66afaz",
                "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `z` at 36",
            ),
            ("0b0f4d8e-54a4", "invalid group count: expected 5, found 2"),
        ] {
            let res = app.delete(&format!("/api/v1/sessions/{id}")).bearer(&token).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{id} ({})", app.db.label);
            assert_eq!(
                res.body["errors"],
                json!([{"code": "VAL_001", "message": format!("Input should be a valid UUID, {reason}"), "field": "session_id"}])
            );
        }
    }
}

/// The reference's web frontend asks which social logins exist; with none, it hides the buttons.
#[actix_web::test]
async fn oauth_providers_answer_as_the_reference_with_oauth_off() {
    let app = TestApp::all().await.remove(0);
    let res = app.get("/api/v1/oauth/providers").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, json!({"enabled": false, "providers": []}));
}

/// `RESET_PASSWORD_PATH` moves the reset link to the frontend's page (the PragmaStack frontend's is
/// `/{locale}/password-reset/confirm`); the token in it still works.
#[actix_web::test]
async fn the_reset_link_goes_to_the_configured_page() {
    for app in TestApp::all_with(|c| c.mail.reset_password_path = "/en/password-reset/confirm".into()).await {
        app.register("link@example.com").await;
        let res = app.post("/api/v1/auth/password-reset/request").json(json!({"email": "link@example.com"})).await;
        assert_eq!(res.status, StatusCode::OK);
        let mail = app.outbox.wait_for(0);
        let link = mail.body.lines().find(|l| l.contains("?token=")).unwrap().trim().to_owned();
        assert!(link.starts_with("http://localhost:3000/en/password-reset/confirm?token="), "{link}");
        let token = link.split("token=").nth(1).unwrap();
        let res = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "Another-Horse-7!"}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
    }
}
