//! Issue 7's input and response hardening, end to end: token responses are uncacheable, ended sessions
//! cannot be renamed, control characters and oversized preferences are refused, emails are NFC, client
//! IPs behind proxies, and a password in `PATCH /users/me` needs the current one.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use latchkey_db::repo::sessions as session_repo;

use latchkey_testkit::app::{CHROME_MAC, Res};
use latchkey_testkit::{PASSWORD, TestApp, TestDb};

fn assert_no_store(res: &Res, what: &str) {
    assert_eq!(res.status, StatusCode::OK, "{what}: {:?}", res.body);
    assert_eq!(res.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{what}");
    assert_eq!(res.headers.get("pragma").map(|v| v.to_str().unwrap()), Some("no-cache"), "{what}");
}

#[actix_web::test]
async fn token_responses_are_never_cached() {
    for app in TestApp::all().await {
        app.register("cache@example.com").await;
        let res =
            app.post("/api/v1/auth/login").json(json!({"email": "cache@example.com", "password": PASSWORD})).await;
        assert_no_store(&res, "login");
        let refresh = res.body["refresh_token"].as_str().unwrap().to_owned();

        let form = TestRequest::post()
            .uri("/api/v1/auth/login/oauth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("username=cache%40example.com&password=Correct-Horse-9%21");
        assert_no_store(&app.call(form).await, "OAuth form login");

        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_no_store(&res, "refresh");
    }
}

#[actix_web::test]
async fn renaming_an_ended_session_is_not_found() {
    for app in TestApp::all().await {
        app.register("ended@example.com").await;
        let (a, _) = app.login("ended@example.com", CHROME_MAC).await;
        let (b, _) = app.login("ended@example.com", CHROME_MAC).await;
        let sessions = app.get("/api/v1/sessions/me").bearer(&b).await.body;
        let b_id = sessions["sessions"].as_array().unwrap().iter().find(|s| s["is_current"] == true).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let rename = |token: &str, id: &str| {
            app.patch(&format!("/api/v1/sessions/{id}")).json(json!({"device_name": "x"})).bearer(token)
        };
        // Session b, revoked from device a, can no longer be renamed from a.
        let res = app.delete(&format!("/api/v1/sessions/{b_id}")).bearer(&a).await;
        assert_eq!(res.status, StatusCode::OK);
        let res = rename(&a, &b_id).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}: {:?}", app.db.label, res.body);
        assert_eq!(res.error(), ("SYS_002".into(), format!("Session {b_id} not found")));
        let row = session_repo::find_by_id(&mut app.db.db.conn().unwrap(), b_id.parse().unwrap()).unwrap().unwrap();
        assert_ne!(row.device_name.as_deref(), Some("x"), "the ended session's name is unchanged");
    }
}

#[actix_web::test]
async fn composed_and_decomposed_emails_are_one_account() {
    let composed = "jos\u{e9}@example.com";
    let decomposed = "jose\u{301}@example.com";
    for app in TestApp::all().await {
        let res = app.register(composed).await;
        assert_eq!(res.body["email"], composed);
        let body = json!({"email": decomposed, "password": PASSWORD, "first_name": "Jose"});
        let res = app.post("/api/v1/auth/register").json(body).await;
        // Refused as taken (whatever the status for a taken email), never a second account.
        assert!(
            res.status.is_client_error() && res.status != StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {:?}",
            app.db.label,
            res.body
        );
        // Either spelling logs in to the one account.
        let res = app.post("/api/v1/auth/login").json(json!({"email": decomposed, "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        assert_eq!(res.body["user"]["email"], composed);
    }
}

#[actix_web::test]
async fn behind_a_trusted_proxy_junk_and_x_real_ip_cannot_spoof_the_session_address() {
    let trusted =
        |c: &mut latchkey_testkit::config::Setup| c.server.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    for app in TestApp::all_with(trusted).await {
        app.register("proxy@example.com").await;
        let cases = [
            // (X-Forwarded-For, the address the session must record)
            ("6.6.6.6, junk, 1.2.3.4", "1.2.3.4"),
            ("6.6.6.6, junk, 10.0.0.9", "10.0.0.9"),
            ("garbage", "10.0.0.1"),
        ];
        for (xff, expected) in cases {
            let req = app
                .post("/api/v1/auth/login")
                .json(json!({"email": "proxy@example.com", "password": PASSWORD}))
                .peer("10.0.0.1:40000".parse().unwrap())
                .header(("x-forwarded-for", xff))
                .header(("x-real-ip", "7.7.7.7"));
            let res = req.await;
            assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
            let access = res.body["access_token"].as_str().unwrap();
            let list = app.get("/api/v1/sessions/me").bearer(access).await.body;
            let current = list["sessions"].as_array().unwrap().iter().find(|s| s["is_current"] == true).unwrap();
            assert_eq!(current["ip_address"], expected, "{}: X-Forwarded-For {xff:?}", app.db.label);
        }
    }
}

fn fields(res: &Res) -> Vec<String> {
    res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect()
}

#[actix_web::test]
async fn nul_and_control_characters_are_422_on_every_string_field() {
    for app in TestApp::all().await {
        let label = app.db.label;
        // Registration: a NUL in first_name was a 500 on PostgreSQL.
        let body = json!({"email": "nul@example.com", "password": PASSWORD, "first_name": "A\u{0}da"});
        let res = app.post("/api/v1/auth/register").json(body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: {:?}", res.body);
        assert_eq!(fields(&res), ["first_name"]);
        assert_eq!(res.body["errors"][0]["message"], "String should not contain control characters");
        // Names are single-line: a line feed is refused too.
        let body = json!({"email": "nul@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "L\nx"});
        let res = app.post("/api/v1/auth/register").json(body).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["last_name".to_owned()]));

        app.register("nul@example.com").await;
        let (token, _) = app.login("nul@example.com", CHROME_MAC).await;
        for (body, field) in [
            (json!({"first_name": "\u{0}"}), "first_name"),
            (json!({"last_name": "x\u{1b}[31m"}), "last_name"),
            (json!({"preferences": {"theme": "da\u{0}rk"}}), "preferences.theme"),
            (json!({"preferences": {"list": ["ok", "b\u{0}d"]}}), "preferences.list.1"),
            (json!({"preferences": {"k\u{0}ey": 1}}), "preferences"),
            (json!({"preferences": {"nested": {"k\u{7}": 1}}}), "preferences.nested"),
        ] {
            let res = app.patch("/api/v1/users/me").bearer(&token).json(body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: {body}: {:?}", res.body);
            assert_eq!(fields(&res), [field], "{label}: {body}");
        }
        // preferences is free text: tab, line feed and carriage return are kept, and stored as sent.
        let note = "line one\r\n\tline two";
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"preferences": {"note": note}})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        assert_eq!(stored_preferences(&app, "nul@example.com")["note"], note);
        // Nothing of the refused updates was stored.
        let me = app.get("/api/v1/users/me").bearer(&token).await.body;
        assert_eq!(me["first_name"], "Ada");

        // Session rename.
        let sessions = app.get("/api/v1/sessions/me").bearer(&token).await.body;
        let id = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
        let res =
            app.patch(&format!("/api/v1/sessions/{id}")).bearer(&token).json(json!({"device_name": "a\u{0}b"})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["device_name".to_owned()]));

        // Login and form bodies go through the same extractor.
        let res = app.post("/api/v1/auth/login").json(json!({"email": "nul@example.com", "password": "a\u{0}"})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["password".to_owned()]));
        let form = TestRequest::post()
            .uri("/api/v1/auth/login/oauth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("username=nul%00%40example.com&password=x");
        let res = app.call(form).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["username".to_owned()]));

        // The device id header is an identifier too (header values may carry a tab).
        let req = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "nul@example.com", "password": PASSWORD}))
            .header(("x-device-id", "phone\tone"));
        let res = req.await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["X-Device-Id".to_owned()]));

        // Query strings and paths, before routing.
        let res = app.get("/api/v1/sessions/me/history?page=1%00").bearer(&token).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["query".to_owned()]));
        let res = app.get("/api/v1/sessions/%00").bearer(&token).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["path".to_owned()]));
        assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff");
    }
}

/// The user's stored `preferences` (the API's `UserResponse` does not show them).
fn stored_preferences(app: &TestApp, email: &str) -> serde_json::Value {
    let user = latchkey_db::repo::users::find_by_email(&mut app.db.db.conn().unwrap(), email).unwrap().unwrap();
    user.preferences.map(|p| p.0).unwrap_or_default()
}

#[actix_web::test]
async fn preferences_are_capped_in_size_and_depth() {
    for app in TestApp::all().await {
        let label = app.db.label;
        app.register("prefs@example.com").await;
        let (token, _) = app.login("prefs@example.com", CHROME_MAC).await;
        // Just under the cap is stored; just over is 422.
        let fits = json!({"blob": "x".repeat(16 * 1024 - 11)});
        assert_eq!(serde_json::to_vec(&fits).unwrap().len(), 16 * 1024);
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"preferences": fits})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body["errors"]);
        let over = json!({"blob": "x".repeat(16 * 1024 - 10)});
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"preferences": over})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["preferences".to_owned()]));
        let res = app
            .patch("/api/v1/users/me")
            .bearer(&token)
            .json(json!({"preferences": {"a": "x".repeat(2_000_000)}}))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

        let mut deep = json!(1);
        for _ in 0..8 {
            deep = json!({"d": deep});
        }
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"preferences": deep.clone()})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: 8 levels are fine: {:?}", res.body);
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"preferences": {"d": deep.clone()}})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["preferences".to_owned()]));
        // What was stored is the last accepted value.
        assert_eq!(stored_preferences(&app, "prefs@example.com"), deep, "{label}");
    }
}

#[actix_web::test]
async fn a_rejected_cors_preflight_answers_in_the_envelope_with_security_headers() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let req = TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api/v1/auth/login")
        .insert_header(("origin", "https://evil.example"))
        .insert_header(("access-control-request-method", "POST"));
    let res = app.call(req).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.headers.get("content-type").unwrap(), "application/json");
    assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(res.body["success"], false);
    assert_eq!(res.body["errors"][0]["code"], "VAL_006");
    // An allowed origin still gets its preflight answer.
    let req = TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api/v1/auth/login")
        .insert_header(("origin", "http://localhost:3000"))
        .insert_header(("access-control-request-method", "POST"));
    let res = app.call(req).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers.get("access-control-allow-origin").unwrap(), "http://localhost:3000");
}

#[actix_web::test]
async fn a_password_in_patch_users_me_needs_the_current_one() {
    for app in TestApp::all().await {
        let label = app.db.label;
        app.register("takeover@example.com").await;
        let (token, _) = app.login("takeover@example.com", CHROME_MAC).await;
        let (other, _) = app.login("takeover@example.com", CHROME_MAC).await;
        let new = "Brand-New-Horse-7?";

        // Missing: 422 on current_password, and nothing changes (not even the other fields).
        let res =
            app.patch("/api/v1/users/me").bearer(&token).json(json!({"password": new, "first_name": "Eve"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: {:?}", res.body);
        assert_eq!(fields(&res), ["current_password"]);
        // Wrong: 403 AUTH_001.
        let body = json!({"password": new, "current_password": "Wrong-Horse-9!", "first_name": "Eve"});
        let res = app.patch("/api/v1/users/me").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{label}: {:?}", res.body);
        assert_eq!(res.error(), ("AUTH_001".into(), "Current password is incorrect".into()));
        assert_eq!(app.get("/api/v1/users/me").bearer(&token).await.body["first_name"], "Ada");
        let res =
            app.post("/api/v1/auth/login").json(json!({"email": "takeover@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: the old password still works");
        assert_eq!(app.get("/api/v1/users/me").bearer(&other).await.status, StatusCode::OK);

        // Right: changed, and the other sessions end.
        let body = json!({"password": new, "current_password": PASSWORD});
        let res = app.patch("/api/v1/users/me").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        assert_eq!(app.get("/api/v1/users/me").bearer(&other).await.status, StatusCode::UNAUTHORIZED);
        let res = app.post("/api/v1/auth/login").json(json!({"email": "takeover@example.com", "password": new})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}");

        // Fields other than the password need no current password.
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"first_name": "Ada B"})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}");
    }
}

#[actix_web::test]
async fn wrong_current_passwords_count_toward_the_account_throttle() {
    for app in TestApp::all_with(|c| c.sessions.login_max_failures = 3).await {
        let label = app.db.label;
        app.register("guess@example.com").await;
        let (token, _) = app.login("guess@example.com", CHROME_MAC).await;
        // The failures come after the successful login (which resets the count).
        app.clock.advance(chrono::Duration::seconds(1));
        // Two wrong guesses through PATCH /users/me, one through PATCH /users/me/password.
        for _ in 0..2 {
            let body = json!({"password": "Brand-New-Horse-7?", "current_password": "Guess-Horse-9!"});
            let res = app.patch("/api/v1/users/me").bearer(&token).json(body).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{label}: {:?}", res.body);
        }
        let body = json!({"current_password": "Guess-Horse-9!", "new_password": "Brand-New-Horse-7?"});
        let res = app.patch("/api/v1/users/me/password").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{label}: {:?}", res.body);
        // The account's budget is spent: the right password gets 429 at login and at both PATCH routes.
        let res =
            app.post("/api/v1/auth/login").json(json!({"email": "guess@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{label}: {:?}", res.body);
        let body = json!({"password": "Brand-New-Horse-7?", "current_password": PASSWORD});
        let res = app.patch("/api/v1/users/me").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{label}: {:?}", res.body);
        assert!(res.headers.contains_key("retry-after"));
        let body = json!({"current_password": PASSWORD, "new_password": "Brand-New-Horse-7?"});
        let res = app.patch("/api/v1/users/me/password").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{label}: {:?}", res.body);
    }
}

/// Sends raw bytes to a real server and reads until it closes the connection.
async fn raw_exchange(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        stream.write_all(&request).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    })
    .await
    .unwrap()
}

/// The last response in a connection's output: (status line, lower-cased head, body).
fn last_response(output: &str) -> (String, String, serde_json::Value) {
    let start = output.rfind("HTTP/1.1 ").unwrap_or_else(|| panic!("no response in {output:?}"));
    let (head, body) = output[start..].split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, head.to_ascii_lowercase(), body)
}

#[actix_web::test]
async fn answers_actix_http_gives_before_the_app_runs_are_envelopes_too() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        latchkey_http::server::serve(app.state.clone(), latchkey_http::server::Listen::Listener(listener)).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let check = |output: &str, status: &str, code: &str| {
        let (line, head, body) = last_response(output);
        assert_eq!(line, status, "{output}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("x-frame-options: deny") && head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("content-security-policy: default-src 'self'"), "{head}");
        assert_eq!(body["success"], false);
        assert_eq!(body["errors"][0]["code"], code, "{body}");
    };

    // A malformed Content-Length.
    let out =
        raw_exchange(addr, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec())
            .await;
    check(&out, "HTTP/1.1 400 Bad Request", "VAL_006");
    // Too many header fields (the head is read completely, so the client is sure to see the answer).
    let mut many = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    check(&raw_exchange(addr, many).await, "HTTP/1.1 431 Request Header Fields Too Large", "REQUEST_TOO_LARGE");
    // On a kept-alive connection: the first answer passes unchanged, the bad second request gets the envelope.
    let out = raw_exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n"
            .to_vec(),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.contains("\"status\":\"healthy\""), "{out}");
    check(&out, "HTTP/1.1 400 Bad Request", "VAL_006");
    // Ordinary answers through the real server are untouched.
    let out = raw_exchange(addr, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()).await;
    check(&out, "HTTP/1.1 404 Not Found", "SYS_002");

    handle.stop(false).await;
}

/// A superuser cannot deactivate or delete their own account on any route (403 `AUTH_007`, as the admin
/// API): the last superuser could otherwise lock everyone out of it. A normal user still may deactivate
/// themselves.
#[actix_web::test]
async fn a_superuser_cannot_deactivate_or_delete_themselves_on_any_route() {
    for app in TestApp::all().await {
        latchkey_service::registration::create_superuser(&app.state.services, "root@example.com", PASSWORD).unwrap();
        let (root, _) = app.login("root@example.com", CHROME_MAC).await;
        let id = app.get("/api/v1/users/me").bearer(&root).await.body["id"].as_str().unwrap().to_owned();
        let cannot = |what: &str| ("AUTH_007".to_owned(), format!("Cannot {what} your own account"));
        let off = json!({"is_active": false});
        let res = app.patch("/api/v1/users/me").bearer(&root).json(off.clone()).await;
        assert_eq!((res.status, res.error()), (StatusCode::FORBIDDEN, cannot("deactivate")), "{}", app.db.label);
        let res = app.patch(&format!("/api/v1/users/{id}")).bearer(&root).json(off.clone()).await;
        assert_eq!((res.status, res.error()), (StatusCode::FORBIDDEN, cannot("deactivate")), "{}", app.db.label);
        let res = app.delete(&format!("/api/v1/users/{id}")).bearer(&root).await;
        assert_eq!((res.status, res.error()), (StatusCode::FORBIDDEN, cannot("delete")), "{}", app.db.label);
        let me = app.get("/api/v1/users/me").bearer(&root).await;
        assert_eq!((me.status, &me.body["is_active"]), (StatusCode::OK, &json!(true)), "{}", app.db.label);

        app.register("ada@example.com").await;
        let (ada, _) = app.login("ada@example.com", CHROME_MAC).await;
        let res = app.patch("/api/v1/users/me").bearer(&ada).json(off).await;
        assert_eq!((res.status, &res.body["is_active"]), (StatusCode::OK, &json!(false)), "{}", app.db.label);
    }
}

/// Answers that carry an account's data are never cached; the public documents may be.
#[actix_web::test]
async fn authenticated_answers_are_not_cached() {
    for app in TestApp::all().await {
        app.register("ada@example.com").await;
        let (token, _) = app.login("ada@example.com", CHROME_MAC).await;
        for path in [
            "/api/v1/users/me",
            "/api/v1/sessions/me",
            "/api/v1/sessions/me/history",
            "/api/v1/organizations/me",
            "/api/v1/oauth/accounts",
        ] {
            let res = app.get(path).bearer(&token).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            assert_eq!(res.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{path}");
        }
        // An error about an account is not cached either.
        let res = app.get("/api/v1/admin/users").bearer(&token).await;
        assert_eq!(
            (res.status, res.headers.get("cache-control").map(|v| v.to_str().unwrap())),
            (StatusCode::FORBIDDEN, Some("no-store"))
        );
        let res = app.get("/health").await;
        assert_eq!(res.headers.get("cache-control"), None, "/health");
    }
}

/// The reference's web frontend asks for the caller's linked social-login accounts: none here.
#[actix_web::test]
async fn oauth_accounts_is_an_empty_list_for_a_caller() {
    for app in TestApp::all().await {
        app.register("ada@example.com").await;
        let (token, _) = app.login("ada@example.com", CHROME_MAC).await;
        let res = app.get("/api/v1/oauth/accounts").bearer(&token).await;
        assert_eq!((res.status, &res.body), (StatusCode::OK, &json!({"accounts": []})), "{}", app.db.label);
        let res = app.get("/api/v1/oauth/accounts").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", app.db.label);
    }
}
