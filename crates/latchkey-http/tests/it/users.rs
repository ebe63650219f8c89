//! `/api/v1/users/me`, password change, and the per-IP rate limits.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::{CHROME_MAC, IPHONE, PASSWORD, bearer, call, get, login, post, register, service, worlds, worlds_with};

#[actix_web::test]
async fn me_requires_a_token() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let res = call(&app, TestRequest::get().uri("/api/v1/users/me")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error(), ("AUTH_006".into(), "Not authenticated".into()));
        assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");
        register(&app, "me@example.com").await;
        let (a, _) = login(&app, "me@example.com", CHROME_MAC).await;
        let res = call(&app, get("/api/v1/users/me", &a)).await;
        assert_eq!(res.body["email"], "me@example.com");
    }
}

#[actix_web::test]
async fn password_change_ends_the_other_sessions() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "pc@example.com").await;
        let (a, _) = login(&app, "pc@example.com", CHROME_MAC).await;
        let (b, _) = login(&app, "pc@example.com", IPHONE).await;
        let change = |current: &str, new: &str| {
            bearer(
                TestRequest::patch()
                    .uri("/api/v1/users/me/password")
                    .set_json(json!({"current_password": current, "new_password": new})),
                &a,
            )
        };
        let res = call(&app, change("Wrong-Pass-99!", "Brand-New-Pass-7")).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_001".into(), "Current password is incorrect".into()))
        );
        let res = call(&app, change(PASSWORD, "weak")).await;
        assert_eq!(res.body["errors"][0]["field"], "new_password");
        assert_eq!(res.body["errors"][0]["message"], "Value error, Password must be at least 12 characters long");

        let res = call(&app, change(PASSWORD, "Brand-New-Pass-7")).await;
        assert_eq!(res.body, json!({"success": true, "message": "Password changed successfully"}), "{}", w.db.label);
        assert_eq!(call(&app, get("/api/v1/users/me", &a)).await.status, StatusCode::OK, "the caller stays");
        assert_eq!(call(&app, get("/api/v1/users/me", &b)).await.status, StatusCode::UNAUTHORIZED);
        let old =
            call(&app, post("/api/v1/auth/login", json!({"email": "pc@example.com", "password": PASSWORD}))).await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new =
            call(&app, post("/api/v1/auth/login", json!({"email": "pc@example.com", "password": "Brand-New-Pass-7"})))
                .await;
        assert_eq!(new.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn per_ip_rate_limits_answer_429_in_the_envelope() {
    for w in worlds_with(|c| c.rate_limit_scale = 1.0) {
        let app = service(w.state.clone()).await;
        let from = |ip: &str| "".to_owned() + ip;
        let attempt = |ip: String, i: usize| {
            post(
                "/api/v1/auth/register",
                json!({"email": format!("rl{i}@example.com"), "password": "x", "first_name": "R"}),
            )
            .peer_addr(format!("{ip}:4000").parse().unwrap())
        };
        for i in 0..5 {
            assert_eq!(call(&app, attempt(from("192.0.2.1"), i)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let res = call(&app, attempt(from("192.0.2.1"), 5)).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", w.db.label);
        assert_eq!(res.error(), ("SYS_004".into(), "Rate limit exceeded: 5 per 1 minute".into()));
        assert!(res.headers.get("retry-after").unwrap().to_str().unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
        // Another client is not affected.
        assert_eq!(call(&app, attempt(from("192.0.2.2"), 6)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[actix_web::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let w = crate::world_with(latchkey_db::testing::TestDb::sqlite(), |c| {
        c.rate_limit_scale = 1.0;
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    });
    let app = service(w.state.clone()).await;
    register(&app, "fw@example.com").await;
    let req = post("/api/v1/auth/login", json!({"email": "fw@example.com", "password": PASSWORD}))
        .peer_addr("10.1.2.3:443".parse().unwrap())
        .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.9"));
    let access = call(&app, req).await.body["access_token"].as_str().unwrap().to_owned();
    w.clock.advance(chrono::Duration::seconds(1));
    let req = post("/api/v1/auth/login", json!({"email": "fw@example.com", "password": PASSWORD}))
        .peer_addr("198.51.100.7:443".parse().unwrap())
        .insert_header(("x-forwarded-for", "6.6.6.6"));
    call(&app, req).await;
    let list = call(&app, get("/api/v1/sessions/me", &access)).await;
    let ips: Vec<&str> =
        list.body["sessions"].as_array().unwrap().iter().map(|s| s["ip_address"].as_str().unwrap()).collect();
    assert_eq!(ips, ["198.51.100.7", "203.0.113.9"]);
}

#[actix_web::test]
async fn update_me_applies_present_fields_and_ends_sessions_when_it_must() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "up@example.com").await;
        let (a, _) = login(&app, "up@example.com", CHROME_MAC).await;
        let (b, _) = login(&app, "up@example.com", IPHONE).await;
        let patch = |token: &str, body: serde_json::Value| {
            bearer(TestRequest::patch().uri("/api/v1/users/me").set_json(body), token)
        };

        let res = call(&app, patch(&a, json!({"first_name": "Grace", "locale": "it-IT", "phone_number": "+39 (06) 1234-5678", "email": "evil@example.com"}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", w.db.label, res.body);
        assert_eq!((res.body["first_name"].as_str(), res.body["locale"].as_str()), (Some("Grace"), Some("it-it")));
        assert_eq!(
            (res.body["phone_number"].as_str(), res.body["email"].as_str()),
            (Some("+390612345678"), Some("up@example.com"))
        );

        let res = call(&app, patch(&a, json!({"first_name": null, "is_superuser": true, "locale": "fr"}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "explicit null is a 422, not a 500");
        let fields: Vec<&str> =
            res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["first_name", "is_superuser"]);
        let res = call(&app, patch(&a, json!({"locale": "fr"}))).await;
        assert_eq!(
            res.body["errors"][0]["message"],
            "Value error, Unsupported locale 'fr'. Supported locales: ['en', 'en-gb', 'en-us', 'it', 'it-it']"
        );
        let res = call(&app, patch(&a, json!({"last_name": null, "is_superuser": null}))).await;
        assert_eq!(res.status, StatusCode::OK);

        // A password here (with the current one) ends the other sessions.
        let res = call(&app, patch(&a, json!({"password": "Brand-New-Pass-7", "current_password": PASSWORD}))).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(call(&app, get("/api/v1/users/me", &b)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, get("/api/v1/users/me", &a)).await.status, StatusCode::OK);

        // Deactivating yourself ends every session; reactivation would not bring them back.
        let res = call(&app, patch(&a, json!({"is_active": false}))).await;
        assert_eq!(res.body["is_active"], false);
        assert_eq!(call(&app, get("/api/v1/users/me", &a)).await.error().1, "Session has been revoked");
    }
}
