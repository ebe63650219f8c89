//! `/api/v1/auth`: each endpoint's success and error paths.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use std::future::IntoFuture as _;

use chrono::Duration;
use latchkey_db::repo::{sessions as session_repo, users as user_repo};
use latchkey_db::{Id, Json, Ts};
use latchkey_domain::Clock as _;
use serde_json::json;

use latchkey_testkit::app::{CHROME_MAC, Call, IPHONE};
use latchkey_testkit::{PASSWORD, TestApp, t0};

#[actix_web::test]
async fn register_creates_an_ordinary_active_user() {
    for app in TestApp::all().await {
        let body = json!({"email": "New@Example.COM", "password": PASSWORD, "first_name": "Ada", "last_name": "L",
                          "phone_number": "+1 (555) 123-4567", "is_superuser": true, "is_active": false});
        let res = app.post("/api/v1/auth/register").json(body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}: {:?}", app.db.label, res.body);
        let keys: Vec<&str> = res.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "email",
                "first_name",
                "last_name",
                "phone_number",
                "id",
                "is_active",
                "is_superuser",
                "created_at",
                "updated_at",
                "locale"
            ]
        );
        assert_eq!(res.body["email"], "new@example.com");
        assert_eq!(res.body["phone_number"], "+15551234567");
        assert_eq!(res.body["is_superuser"], false, "register must not grant superuser");
        assert_eq!(res.body["is_active"], true);
        assert_eq!(res.body["created_at"], "2026-11-28T12:00:00Z");

        // Case-insensitive duplicate.
        let dup = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "NEW@example.com", "password": PASSWORD, "first_name": "B"}))
            .await;
        assert_eq!(dup.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            dup.error(),
            ("VAL_006".into(), "Registration failed. Please check your information and try again.".into())
        );
    }
}

#[actix_web::test]
async fn register_validation_reads_like_the_reference() {
    for app in TestApp::all().await {
        let res = app.post("/api/v1/auth/register").json(json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<(&str, &str)> = res.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [("email", "Field required"), ("password", "Field required"), ("first_name", "Field required")]
        );
        assert_eq!(res.body["errors"][0]["code"], "VAL_001");

        let weak = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "a@b.co", "password": "short", "first_name": "A"}))
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(weak.body["errors"][0]["field"], "password");
        assert_eq!(weak.body["errors"][0]["message"], "Value error, Password must be at least 12 characters long");

        let bad_email = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "nope", "password": PASSWORD, "first_name": "A"}))
            .await;
        assert_eq!(bad_email.body["errors"][0]["field"], "email");
        assert_eq!(
            bad_email.body["errors"][0]["message"],
            "value is not a valid email address: An email address must have an @-sign."
        );

        let wrong_type = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "a@b.co", "password": PASSWORD, "first_name": 7}))
            .await;
        assert_eq!(
            (wrong_type.body["errors"][0]["field"].as_str(), wrong_type.body["errors"][0]["message"].as_str()),
            (Some("first_name"), Some("Input should be a valid string"))
        );

        let null = app
            .post("/api/v1/auth/register")
            .json(json!({"email": null, "password": PASSWORD, "first_name": "A"}))
            .await;
        assert_eq!(null.status, StatusCode::UNPROCESSABLE_ENTITY, "explicit null is a 422, not a 500");

        let broken = TestRequest::post()
            .uri("/api/v1/auth/register")
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"email\": ");
        let res = app.call(broken).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            (res.body["errors"][0]["message"].as_str(), res.body["errors"][0]["field"].as_str()),
            (Some("JSON decode error"), Some("0"))
        );

        let array = app.post("/api/v1/auth/register").json(json!([1, 2])).await;
        assert_eq!(
            array.body["errors"][0]["message"],
            "Input should be a valid dictionary or object to extract fields from"
        );

        let form = TestRequest::post()
            .uri("/api/v1/auth/register")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("email=a@b.co");
        assert_eq!(app.call(form).await.status, StatusCode::UNPROCESSABLE_ENTITY);

        let empty =
            TestRequest::post().uri("/api/v1/auth/register").insert_header(("content-type", "application/json"));
        let res = app.call(empty).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["message"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("Field required"))
        );
    }
}

#[actix_web::test]
async fn login_issues_tokens_and_rejects_bad_credentials() {
    for app in TestApp::all().await {
        app.register("ada@example.com").await;
        let res = app.post("/api/v1/auth/login").json(json!({"email": "ADA@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
        let keys: Vec<&str> = res.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["access_token", "refresh_token", "token_type", "user", "expires_in"]);
        assert_eq!(res.body["token_type"], "bearer");
        assert_eq!(res.body["expires_in"], 900);
        assert_eq!(res.body["user"]["email"], "ada@example.com");

        for (email, password) in [("ada@example.com", "Wrong-Horse-9!"), ("nobody@example.com", PASSWORD)] {
            let res = app.post("/api/v1/auth/login").json(json!({"email": email, "password": password})).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
            assert_eq!(res.error(), ("AUTH_001".into(), "Invalid email or password".into()));
            assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");
        }
        let missing = app.post("/api/v1/auth/login").json(json!({"email": "ada@example.com"})).await;
        assert_eq!(
            (missing.status, missing.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );

        // OAuth2 form login.
        let form = TestRequest::post()
            .uri("/api/v1/auth/login/oauth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!("username=ada%40example.com&password={}&grant_type=password", urlencode(PASSWORD)));
        let res = app.call(form).await;
        assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
        assert!(res.body["access_token"].is_string());
        let form = TestRequest::post()
            .uri("/api/v1/auth/login/oauth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("username=ada%40example.com");
        let res = app.call(form).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[actix_web::test]
async fn inactive_and_deleted_accounts_cannot_log_in() {
    for app in TestApp::all().await {
        let id = app.register("ina@example.com").await.body["id"].as_str().unwrap().parse().unwrap();
        let mut conn = app.db.db.conn().unwrap();
        user_repo::set_active(&mut conn, id, false, Ts(t0())).unwrap();
        let res = app.post("/api/v1/auth/login").json(json!({"email": "ina@example.com", "password": PASSWORD})).await;
        assert_eq!(res.error(), ("AUTH_001".into(), "User account is inactive".into()));
        let wrong =
            app.post("/api/v1/auth/login").json(json!({"email": "ina@example.com", "password": "Nope-Nope-9!"})).await;
        assert_eq!(wrong.error().1, "Invalid email or password", "inactive is only told after a correct password");

        user_repo::set_active(&mut conn, id, true, Ts(t0())).unwrap();
        user_repo::soft_delete(&mut conn, id, Ts(t0())).unwrap();
        let res = app.post("/api/v1/auth/login").json(json!({"email": "ina@example.com", "password": PASSWORD})).await;
        assert_eq!((res.status, res.error().1.as_str()), (StatusCode::UNAUTHORIZED, "Invalid email or password"));
    }
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    for app in TestApp::all().await {
        app.register("r@example.com").await;
        let (access, refresh1) = app.login("r@example.com", CHROME_MAC).await;

        app.clock.advance(Duration::minutes(1));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh1})).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        let refresh2 = res.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(refresh1, refresh2);
        let access2 = res.body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/api/v1/users/me").bearer(&access2).await.status, StatusCode::OK);

        // The rotated-out token, presented after the grace window: reuse.
        app.clock.advance(Duration::seconds(11));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh1})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked. Please log in again.".into()));
        // The session is gone for everyone, the thief and the owner alike.
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh2})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app.get("/api/v1/users/me").bearer(&access).await;
        assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked".into()));

        // The reuse is in the security history of a new session.
        let (fresh, _) = app.login("r@example.com", CHROME_MAC).await;
        let history = app.get("/api/v1/sessions/me/history").bearer(&fresh).await;
        let kinds: Vec<&str> =
            history.body["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"refresh_token_reuse"), "{kinds:?}");
        let uid = app.user_id("r@example.com");
        let active = session_repo::list_active(&mut app.db.db.conn().unwrap(), uid, Ts(app.clock.now())).unwrap();
        assert_eq!(active.len(), 1, "only the fresh session is active");
    }
}

#[actix_web::test]
async fn a_concurrent_double_refresh_within_grace_revokes_nothing() {
    for app in TestApp::all().await {
        app.register("d@example.com").await;
        let (_, refresh) = app.login("d@example.com", CHROME_MAC).await;
        let first = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh.clone()})).into_future();
        let second = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh.clone()})).into_future();
        let (a, b) = futures_util::join!(first, second);
        let statuses = [a.status, b.status];
        assert!(statuses.contains(&StatusCode::OK), "{}: one refresh wins: {statuses:?}", app.db.label);
        assert!(statuses.contains(&StatusCode::UNAUTHORIZED), "the other loses: {statuses:?}");
        let winner = if a.status == StatusCode::OK { a } else { b };
        // Within the grace window nothing was revoked: the winner's tokens keep working.
        app.clock.advance(Duration::seconds(5));
        let access = winner.body["access_token"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/users/me").bearer(access).await.status, StatusCode::OK);
        // A replay inside the window is refused without revoking, and recorded for the user to see.
        let replay = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh.clone()})).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/users/me").bearer(access).await.status, StatusCode::OK);
        let history = app.get("/api/v1/sessions/me/history").bearer(access).await;
        let replays = history.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "refresh_token_reuse")
            .count();
        assert!(replays >= 1, "{}: {:?}", app.db.label, history.body);
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": winner.body["refresh_token"]})).await;
        assert_eq!(res.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn refresh_errors() {
    for app in TestApp::all().await {
        app.register("e@example.com").await;
        let (access, refresh) = app.login("e@example.com", CHROME_MAC).await;
        for token in ["garbage", access.as_str()] {
            let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": token})).await;
            assert_eq!(res.error(), ("AUTH_006".into(), "Invalid refresh token".into()), "{token}");
            assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");
        }
        let missing = app.post("/api/v1/auth/refresh").json(json!({})).await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
        app.clock.advance(Duration::days(8));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.error().1, "Refresh token has expired. Please log in again.");
    }
}

#[actix_web::test]
async fn absolute_lifetime_caps_refresh() {
    for app in TestApp::all_with(|c| c.sessions.session_max_lifetime_days = 10).await {
        app.register("abs@example.com").await;
        let (_, mut refresh) = app.login("abs@example.com", CHROME_MAC).await;
        // Refresh every 6 days: the sliding expiry would go on forever without the cap.
        app.clock.advance(Duration::days(6));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
        refresh = res.body["refresh_token"].as_str().unwrap().to_owned();
        let access = res.body["access_token"].as_str().unwrap().to_owned();
        let list = app.get("/api/v1/sessions/me").bearer(&access).await;
        assert_eq!(list.body["sessions"][0]["expires_at"], "2026-12-08T12:00:00Z", "capped at login + 10 days");

        app.clock.advance(Duration::days(4) + Duration::seconds(10));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn logout_ends_the_named_session_only_for_its_owner() {
    for app in TestApp::all().await {
        app.register("lo@example.com").await;
        app.register("other@example.com").await;
        let (access, refresh) = app.login("lo@example.com", CHROME_MAC).await;
        let (other_access, other_refresh) = app.login("other@example.com", CHROME_MAC).await;

        let short = app.post("/api/v1/auth/logout").json(json!({"refresh_token": "short"})).bearer(&access).await;
        assert_eq!(short.body["errors"][0]["message"], "String should have at least 10 characters");
        let theirs =
            app.post("/api/v1/auth/logout").json(json!({"refresh_token": other_refresh})).bearer(&access).await;
        assert_eq!(theirs.error(), ("AUTH_004".into(), "You can only logout your own sessions".into()));
        let junk =
            app.post("/api/v1/auth/logout").json(json!({"refresh_token": "not-a-token-at-all"})).bearer(&access).await;
        assert_eq!(junk.status, StatusCode::OK, "an invalid token still logs out");

        let res = app.post("/api/v1/auth/logout").json(json!({"refresh_token": refresh.clone()})).bearer(&access).await;
        assert_eq!(res.body, json!({"success": true, "message": "Logged out successfully"}));
        assert_eq!(app.get("/api/v1/users/me").bearer(&access).await.status, StatusCode::UNAUTHORIZED);
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/users/me").bearer(&other_access).await.status, StatusCode::OK);

        let unauth = app.post("/api/v1/auth/logout").json(json!({"refresh_token": "0123456789"})).await;
        assert_eq!(unauth.error(), ("AUTH_006".into(), "Not authenticated".into()));
    }
}

#[actix_web::test]
async fn logout_all_ends_every_session() {
    for app in TestApp::all().await {
        app.register("all@example.com").await;
        let (a, _) = app.login("all@example.com", CHROME_MAC).await;
        let (b, _) = app.login("all@example.com", IPHONE).await;
        let res = app.post("/api/v1/auth/logout-all").bearer(&a).await;
        assert_eq!(res.body["message"], "Successfully logged out from all devices (2 sessions terminated)");
        for token in [&a, &b] {
            assert_eq!(app.get("/api/v1/users/me").bearer(token).await.status, StatusCode::UNAUTHORIZED);
        }
    }
}

#[actix_web::test]
async fn password_reset_is_single_use_and_ends_all_sessions() {
    for app in TestApp::all().await {
        app.register("pr@example.com").await;
        let (access, _) = app.login("pr@example.com", CHROME_MAC).await;
        let expected = json!({"success": true, "message": "If your email is registered, you will receive a password reset link shortly"});
        // The unknown address first: mail goes out in order, one message at a time, so had it been sent a
        // message, that message would be the first one.
        for email in ["nobody@example.com", "PR@example.com"] {
            let res = app.post("/api/v1/auth/password-reset/request").json(json!({"email": email})).await;
            assert_eq!((res.status, &res.body), (StatusCode::OK, &expected));
        }
        let bad = app.post("/api/v1/auth/password-reset/request").json(json!({"email": "nope"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

        let mail = app.outbox.wait_for(0);
        assert_eq!(mail.to, "pr@example.com", "no email for an unknown address");
        assert_eq!(mail.subject, "Password Reset Request");
        let link = mail.body.lines().find(|l| l.contains("/reset-password?token=")).unwrap();
        assert!(link.starts_with("http://localhost:3000/reset-password?token="));
        let token = link.split("token=").nth(1).unwrap().trim().to_owned();
        assert_eq!(app.outbox.count(), 1, "no email for an unknown address");

        let short = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "short"}))
            .await;
        assert_eq!(short.body["errors"][0]["message"], "String should have at least 8 characters");
        let weak = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "shortish1"}))
            .await;
        assert_eq!(weak.body["errors"][0]["message"], "Value error, Password must be at least 12 characters long");
        assert_eq!(weak.body["errors"][0]["field"], "new_password");

        let res = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "Brand-New-Pass-7"}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        assert_eq!(
            app.get("/api/v1/users/me").bearer(&access).await.status,
            StatusCode::UNAUTHORIZED,
            "all sessions ended"
        );
        let again = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "Another-Pass-77"}))
            .await;
        assert_eq!(again.error(), ("VAL_006".into(), "Invalid or expired password reset token".into()), "single use");
        let forged = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": "forged.token", "new_password": "Another-Pass-77"}))
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);

        let res = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "pr@example.com", "password": "Brand-New-Pass-7"}))
            .await;
        assert_eq!(res.status, StatusCode::OK);

        // Expired after an hour.
        app.post("/api/v1/auth/password-reset/request").json(json!({"email": "pr@example.com"})).await;
        let token =
            app.outbox.wait_for(1).body.split("token=").nth(1).unwrap().lines().next().unwrap().trim().to_owned();
        app.clock.advance(Duration::minutes(61));
        let res = app
            .post("/api/v1/auth/password-reset/confirm")
            .json(json!({"token": token, "new_password": "Another-Pass-77"}))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
}

#[actix_web::test]
async fn too_many_failures_throttle_the_account_whatever_the_ip() {
    for app in TestApp::all_with(|c| c.sessions.login_max_failures = 3).await {
        app.register("t@example.com").await;
        for i in 0..3 {
            let req = app
                .post("/api/v1/auth/login")
                .json(json!({"email": "t@example.com", "password": "Wrong-Pass-99!"}))
                .peer(format!("10.0.0.{i}:5000").parse().unwrap());
            assert_eq!(req.await.status, StatusCode::UNAUTHORIZED);
        }
        let res = app.post("/api/v1/auth/login").json(json!({"email": "t@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", app.db.label);
        assert_eq!(res.error().0, "SYS_004");
        let retry: i64 = res.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
        let res = app.post("/api/v1/auth/login").json(json!({"email": "t@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn a_bcrypt_hash_from_the_reference_verifies_and_is_upgraded() {
    // bcrypt cost 12 of "Correct-Horse-9!", as the reference stores it.
    const REFERENCE_HASH: &str = "$2b$12$1FsGYlE6TpSwq2Pjy1Z9HexWGzzJU7YCq4Yl66UrLinL7Uo0gBqTq";
    for app in TestApp::all().await {
        let id = uuid::Uuid::new_v4();
        let now = Ts(t0());
        let user = latchkey_db::models::NewUser {
            id: Id(id),
            email: "legacy@example.com".into(),
            password_hash: Some(REFERENCE_HASH.into()),
            first_name: "Legacy".into(),
            last_name: None,
            phone_number: None,
            is_active: true,
            is_superuser: false,
            preferences: Some(Json(json!({}))),
            locale: None,
            created_at: now,
            updated_at: now,
        };
        user_repo::create(&mut app.db.db.conn().unwrap(), &user).unwrap();
        app.login("legacy@example.com", CHROME_MAC).await;
        let stored = user_repo::find_by_id(&mut app.db.db.conn().unwrap(), id).unwrap().unwrap().password_hash.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}: {stored}", app.db.label);
        app.login("legacy@example.com", CHROME_MAC).await;
    }
}

#[actix_web::test]
async fn tokens_that_are_not_access_tokens_are_401() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    for app in TestApp::all().await {
        let user = app.register("tok@example.com").await;
        let (_, refresh) = app.login("tok@example.com", CHROME_MAC).await;
        let res = app.get("/api/v1/users/me").bearer(&refresh).await;
        assert_eq!(
            res.error(),
            ("AUTH_006".into(), "Could not validate credentials".into()),
            "refresh token as bearer"
        );

        let key = EncodingKey::from_secret(app.state.config.secret_key.expose());
        let now = t0().timestamp();
        let claims_cases = [
            json!({"sub": user.body["id"], "exp": now + 60, "iat": now, "type": "access"}),
            json!({"sub": "not-a-uuid", "exp": now + 60, "iat": now, "jti": uuid::Uuid::new_v4(), "type": "access", "sid": uuid::Uuid::new_v4(), "is_superuser": false, "email": "x", "first_name": "x"}),
            json!({"exp": now + 60, "iat": now, "type": "access"}),
        ];
        for claims in claims_cases {
            let token = encode(&Header::default(), &claims, &key).unwrap();
            let res = app.get("/api/v1/users/me").bearer(&token).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{claims}");
        }
        let res = app.get("/api/v1/users/me").bearer("").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app.get("/api/v1/users/me").header(("authorization", "Basic abc")).await;
        assert_eq!(res.error().1, "Not authenticated");
    }
}

/// Known devices beat the lockout: every login hands out a device token (cookie and header); while the
/// account is throttled, a login presenting a valid device token of that account is still checked, with
/// its own budget of 5 failures; other logins, and tokens of another account or forged ones, get 429.
#[actix_web::test]
async fn a_known_device_is_not_shut_out_by_a_lockout_of_its_account() {
    for app in TestApp::all_with(|c| c.sessions.login_max_failures = 3).await {
        app.register("owner@example.com").await;
        app.register("other@example.com").await;
        let login = |email: &str, password: &str| {
            app.post("/api/v1/auth/login").json(json!({"email": email, "password": password}))
        };

        let res = login("owner@example.com", PASSWORD).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
        let token = res.headers.get("x-device-token").unwrap().to_str().unwrap().to_owned();
        let cookie = res.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
        assert!(cookie.starts_with(&format!("latchkey_device={token};")), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/api/v1/auth", "Max-Age=7776000"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "not in development: {cookie}");
        let other_token = login("other@example.com", PASSWORD).await.headers.get("x-device-token").unwrap().clone();

        // Someone who knows only the email locks the account.
        for _ in 0..4 {
            login("owner@example.com", "Wrong-Pass-99!").await;
        }
        let locked = login("owner@example.com", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", app.db.label);
        fn with<'a>(req: Call<'a>, name: &str, value: &str) -> Call<'a> {
            req.header((name.to_owned(), value.to_owned()))
        }
        for refused in [
            with(login("owner@example.com", PASSWORD), "x-device-token", other_token.to_str().unwrap()),
            with(login("owner@example.com", PASSWORD), "x-device-token", &format!("{token}x")),
            with(login("owner@example.com", PASSWORD), "cookie", "latchkey_device=forged.token"),
        ] {
            assert_eq!(refused.await.status, StatusCode::TOO_MANY_REQUESTS, "{}", app.db.label);
        }

        // The owner's device still gets in, by header or by cookie, and keeps its device id.
        let res = with(login("owner@example.com", PASSWORD), "x-device-token", &token).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        let renewed = res.headers.get("x-device-token").unwrap().to_str().unwrap().to_owned();
        let res = with(login("owner@example.com", PASSWORD), "cookie", &format!("latchkey_device={renewed}")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);

        // The device's own budget: 5 wrong passwords, then it is refused too, right password or not.
        for i in 0..5 {
            let res = with(login("owner@example.com", "Wrong-Pass-99!"), "x-device-token", &renewed).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{} try {i}", app.db.label);
        }
        let res = with(login("owner@example.com", PASSWORD), "x-device-token", &renewed).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", app.db.label);
        // A device token whose account is not throttled changes nothing.
        let res = with(login("other@example.com", PASSWORD), "x-device-token", &token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", app.db.label);
    }
}

/// A password longer than any account can have (4096 characters) is wrong at login without being hashed,
/// and refused as a new password with 422.
#[actix_web::test]
async fn an_overlong_password_is_wrong_at_login_and_refused_as_a_new_one() {
    for app in TestApp::all().await {
        let long = format!("Aa1!{}", "x".repeat(5000));
        let res = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "l@example.com", "password": long, "first_name": "L"}))
            .await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );
        app.register("l@example.com").await;
        let res = app.post("/api/v1/auth/login").json(json!({"email": "l@example.com", "password": long})).await;
        assert_eq!((res.status, res.error().0), (StatusCode::UNAUTHORIZED, "AUTH_001".to_owned()), "{}", app.db.label);
    }
}
