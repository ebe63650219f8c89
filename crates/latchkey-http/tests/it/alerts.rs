//! New-device alerts and "not me", end to end: which logins are alerted, the email, the page, the answer.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use latchkey_testkit::app::{CHROME_MAC, Call, Client, IPHONE};
use latchkey_testkit::{PASSWORD, TestApp};

const LINK_START: &str = "http://127.0.0.1:8000/api/v1/auth/not-me?token=";

fn login_from<'a>(app: &'a Client, user_agent: &str, device_id: Option<&str>) -> Call<'a> {
    let req = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ada@example.com", "password": PASSWORD}))
        .header(("user-agent", user_agent))
        .peer("203.0.113.7:5000".parse().unwrap());
    match device_id {
        Some(id) => req.header(("x-device-id", id)),
        None => req,
    }
}

/// The token of an alert email's "not me" link.
fn token_of(body: &str) -> String {
    let start = body.find(LINK_START).unwrap_or_else(|| panic!("no link in {body}")) + LINK_START.len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

fn kinds(history: &Value) -> Vec<&str> {
    history["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect()
}

#[actix_web::test]
async fn a_new_device_is_alerted_once_and_not_me_ends_its_session() {
    for app in TestApp::all().await {
        app.register("ada@example.com").await;
        let laptop = login_from(&app, CHROME_MAC, None).await; // the first login: nothing to compare
        assert_eq!(laptop.status, StatusCode::OK);
        let laptop = laptop.body["access_token"].as_str().unwrap().to_owned();
        login_from(&app, CHROME_MAC, None).await; // a known device
        let phone = login_from(&app, IPHONE, None).await; // new: alerted
        let phone_token = phone.body["access_token"].as_str().unwrap().to_owned();
        let alert = app.outbox.wait_for(0);
        assert_eq!(alert.to, "ada@example.com");
        assert!(alert.subject.starts_with("New sign-in"), "{}", alert.subject);
        for fact in ["Mobile Safari on iOS", "203.0.113.7", "Location: unknown", "2026-11-28 12:00 UTC", LINK_START] {
            assert!(alert.body.contains(fact), "{fact} in {}", alert.body);
        }
        login_from(&app, IPHONE, None).await; // known now
        // A device that names itself is known by its id: the same browser with an id is a new device once.
        login_from(&app, IPHONE, Some("ada-phone")).await;
        assert!(app.outbox.wait_for(1).body.contains("Mobile Safari on iOS"));
        login_from(&app, IPHONE, Some("ada-phone")).await;
        // Mail is sent in order by one thread: the reset email arriving second proves no alert came between.
        app.post("/api/v1/auth/password-reset/request").json(json!({"email": "ada@example.com"})).await;
        assert_eq!(app.outbox.wait_for(2).subject, "Password Reset Request", "{}", app.db.label);
        let history = app.get("/api/v1/sessions/me/history?limit=100").bearer(&laptop).await;
        assert_eq!(kinds(&history.body).iter().filter(|k| **k == "new_device_login").count(), 2, "{}", app.db.label);

        // The link's page says what happened and changes nothing.
        let token = token_of(&alert.body);
        let page_uri = format!("/api/v1/auth/not-me?token={token}");
        let page = app.get(&page_uri).await;
        assert_eq!(page.status, StatusCode::OK);
        let headers = page.headers.clone();
        assert!(headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
        assert!(headers.get("content-security-policy").unwrap().to_str().unwrap().contains("script-src 'self'"));
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");
        let html = page.text;
        for fact in ["Was this you?", "Mobile Safari on iOS", "203.0.113.7", "<form method=\"post\" action=\"not-me\">"]
        {
            assert!(html.contains(fact), "{fact} in {html}");
        }
        assert!(!html.contains("<script"), "no script");
        assert_eq!(
            app.get("/api/v1/users/me").bearer(&phone_token).await.status,
            StatusCode::OK,
            "the GET ended nothing"
        );

        // "Not me" ends that session (only that one) and sends a reset link.
        let res = app.post("/api/v1/auth/not-me").json(json!({"token": token})).await;
        assert_eq!(
            (res.status, &res.body["success"]),
            (StatusCode::OK, &json!(true)),
            "{}: {:?}",
            app.db.label,
            res.body
        );
        assert_eq!(app.get("/api/v1/users/me").bearer(&phone_token).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/users/me").bearer(&laptop).await.status, StatusCode::OK);
        assert_eq!(app.outbox.wait_for(3).subject, "Password Reset Request");
        let history = app.get("/api/v1/sessions/me/history").bearer(&laptop).await;
        assert!(kinds(&history.body).contains(&"login_disowned"), "{}", app.db.label);

        // Single use, and only real tokens.
        let again = app.post("/api/v1/auth/not-me").json(json!({"token": token})).await;
        assert_eq!(
            (again.status, again.error()),
            (StatusCode::BAD_REQUEST, ("VAL_006".into(), "Invalid or expired token".into()))
        );
        let page = app.get(&page_uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        let forged = app.post("/api/v1/auth/not-me").json(json!({"token": format!("{token}x")})).await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let second = token_of(&app.outbox.wait_for(1).body);
        app.clock.advance(chrono::Duration::days(8));
        let expired = app.post("/api/v1/auth/not-me").json(json!({"token": second})).await;
        assert_eq!(expired.status, StatusCode::BAD_REQUEST, "{}: expired after 7 days", app.db.label);
    }
}

/// The page's button posts a form and gets a page back.
#[actix_web::test]
async fn the_buttons_form_ends_the_session_and_answers_a_page() {
    for app in TestApp::all().await {
        app.register("ada@example.com").await;
        login_from(&app, CHROME_MAC, None).await;
        let phone = login_from(&app, IPHONE, None).await.body["access_token"].as_str().unwrap().to_owned();
        let token = token_of(&app.outbox.wait_for(0).body);
        let form = TestRequest::post()
            .uri("/api/v1/auth/not-me")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!("token={token}"));
        let res = app.call(form).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
        let html = res.text;
        assert!(html.contains("Session ended"), "{html}");
        assert_eq!(app.get("/api/v1/users/me").bearer(&phone).await.status, StatusCode::UNAUTHORIZED);
        let form = TestRequest::post()
            .uri("/api/v1/auth/not-me")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!("token={token}"));
        let res = app.call(form).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}: used", app.db.label);
    }
}

/// `NEW_DEVICE_ALERTS=false`: no alert, whatever the device.
#[actix_web::test]
async fn alerts_can_be_turned_off() {
    for app in TestApp::all_with(|c| c.mail.new_device_alerts = false).await {
        app.register("ada@example.com").await;
        login_from(&app, CHROME_MAC, None).await;
        let phone = login_from(&app, IPHONE, None).await.body["access_token"].as_str().unwrap().to_owned();
        app.post("/api/v1/auth/password-reset/request").json(json!({"email": "ada@example.com"})).await;
        assert_eq!(
            app.outbox.wait_for(0).subject,
            "Password Reset Request",
            "{}: the first email is the reset",
            app.db.label
        );
        let history = app.get("/api/v1/sessions/me/history").bearer(&phone).await;
        assert!(!kinds(&history.body).contains(&"new_device_login"), "{}", app.db.label);
    }
}
