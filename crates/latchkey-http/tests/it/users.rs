//! `/api/v1/users/me`, password change, and the per-IP rate limits.

use actix_web::http::StatusCode;
use serde_json::json;

use latchkey_testkit::app::{CHROME_MAC, IPHONE};
use latchkey_testkit::{PASSWORD, TestApp, TestDb};

#[actix_web::test]
async fn me_requires_a_token() {
    for app in TestApp::all().await {
        let res = app.get("/api/v1/users/me").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error(), ("AUTH_006".into(), "Not authenticated".into()));
        assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");
        app.register("me@example.com").await;
        let (a, _) = app.login("me@example.com", CHROME_MAC).await;
        let res = app.get("/api/v1/users/me").bearer(&a).await;
        assert_eq!(res.body["email"], "me@example.com");
    }
}

#[actix_web::test]
async fn password_change_ends_the_other_sessions() {
    for app in TestApp::all().await {
        app.register("pc@example.com").await;
        let (a, _) = app.login("pc@example.com", CHROME_MAC).await;
        let (b, _) = app.login("pc@example.com", IPHONE).await;
        let change = |current: &str, new: &str| {
            let body = json!({"current_password": current, "new_password": new});
            app.patch("/api/v1/users/me/password").bearer(&a).json(body)
        };
        let res = change("Wrong-Pass-99!", "Brand-New-Pass-7").await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_001".into(), "Current password is incorrect".into()))
        );
        let res = change(PASSWORD, "weak").await;
        assert_eq!(res.body["errors"][0]["field"], "new_password");
        assert_eq!(res.body["errors"][0]["message"], "Value error, Password must be at least 12 characters long");

        let res = change(PASSWORD, "Brand-New-Pass-7").await;
        assert_eq!(res.body, json!({"success": true, "message": "Password changed successfully"}), "{}", app.db.label);
        assert_eq!(app.get("/api/v1/users/me").bearer(&a).await.status, StatusCode::OK, "the caller stays");
        assert_eq!(app.get("/api/v1/users/me").bearer(&b).await.status, StatusCode::UNAUTHORIZED);
        let old = app.post("/api/v1/auth/login").json(json!({"email": "pc@example.com", "password": PASSWORD})).await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "pc@example.com", "password": "Brand-New-Pass-7"}))
            .await;
        assert_eq!(new.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn per_ip_rate_limits_answer_429_in_the_envelope() {
    for app in TestApp::all_with(|c| c.server.rate_limit_scale = 1.0).await {
        let from = |ip: &str| "".to_owned() + ip;
        let attempt = |ip: String, i: usize| {
            app.post("/api/v1/auth/register")
                .json(json!({"email": format!("rl{i}@example.com"), "password": "x", "first_name": "R"}))
                .peer(format!("{ip}:4000").parse().unwrap())
        };
        for i in 0..5 {
            assert_eq!(attempt(from("192.0.2.1"), i).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let res = attempt(from("192.0.2.1"), 5).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", app.db.label);
        assert_eq!(res.error(), ("SYS_004".into(), "Rate limit exceeded: 5 per 1 minute".into()));
        assert!(res.headers.get("retry-after").unwrap().to_str().unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
        // Another client is not affected.
        assert_eq!(attempt(from("192.0.2.2"), 6).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[actix_web::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let app = TestApp::with(TestDb::sqlite(), |c| {
        c.server.rate_limit_scale = 1.0;
        c.server.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    app.register("fw@example.com").await;
    let req = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "fw@example.com", "password": PASSWORD}))
        .peer("10.1.2.3:443".parse().unwrap())
        .header(("x-forwarded-for", "6.6.6.6, 203.0.113.9"));
    let access = req.await.body["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::seconds(1));
    let req = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "fw@example.com", "password": PASSWORD}))
        .peer("198.51.100.7:443".parse().unwrap())
        .header(("x-forwarded-for", "6.6.6.6"));
    req.await;
    let list = app.get("/api/v1/sessions/me").bearer(&access).await;
    let ips: Vec<&str> =
        list.body["sessions"].as_array().unwrap().iter().map(|s| s["ip_address"].as_str().unwrap()).collect();
    assert_eq!(ips, ["198.51.100.7", "203.0.113.9"]);
}

#[actix_web::test]
async fn update_me_applies_present_fields_and_ends_sessions_when_it_must() {
    for app in TestApp::all().await {
        app.register("up@example.com").await;
        let (a, _) = app.login("up@example.com", CHROME_MAC).await;
        let (b, _) = app.login("up@example.com", IPHONE).await;
        let patch = |token: &str, body: serde_json::Value| app.patch("/api/v1/users/me").json(body).bearer(token);

        let res = patch(&a, json!({"first_name": "Grace", "locale": "it-IT", "phone_number": "+39 (06) 1234-5678", "email": "evil@example.com"})).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        assert_eq!((res.body["first_name"].as_str(), res.body["locale"].as_str()), (Some("Grace"), Some("it-it")));
        assert_eq!(
            (res.body["phone_number"].as_str(), res.body["email"].as_str()),
            (Some("+390612345678"), Some("up@example.com"))
        );

        let res = patch(&a, json!({"first_name": null, "is_superuser": true, "locale": "fr"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "explicit null is a 422, not a 500");
        let fields: Vec<&str> =
            res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["first_name", "is_superuser"]);
        let res = patch(&a, json!({"locale": "fr"})).await;
        assert_eq!(
            res.body["errors"][0]["message"],
            "Value error, Unsupported locale 'fr'. Supported locales: ['en', 'en-gb', 'en-us', 'it', 'it-it']"
        );
        let res = patch(&a, json!({"last_name": null, "is_superuser": null})).await;
        assert_eq!(res.status, StatusCode::OK);

        // A password here (with the current one) ends the other sessions.
        let res = patch(&a, json!({"password": "Brand-New-Pass-7", "current_password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(app.get("/api/v1/users/me").bearer(&b).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/users/me").bearer(&a).await.status, StatusCode::OK);

        // Deactivating yourself ends every session; reactivation would not bring them back.
        let res = patch(&a, json!({"is_active": false})).await;
        assert_eq!(res.body["is_active"], false);
        assert_eq!(app.get("/api/v1/users/me").bearer(&a).await.error().1, "Session has been revoked");
    }
}
