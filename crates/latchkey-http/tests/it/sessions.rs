//! Multi-device scenarios and `/api/v1/sessions`.

use actix_web::http::StatusCode;
use chrono::Duration;
use latchkey_db::Ts;
use latchkey_db::repo::{sessions as session_repo, users as user_repo};
use serde_json::{Value, json};

use latchkey_testkit::app::{CHROME_MAC, IPHONE};
use latchkey_testkit::{PASSWORD, TestApp, t0};

fn current_of(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["is_current"] == true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn two_devices_each_see_both_sessions_and_revoking_one_cuts_it_off_at_once() {
    for app in TestApp::all().await {
        app.register("md@example.com").await;
        let (a, _) = app.login("md@example.com", CHROME_MAC).await;
        app.clock.advance(Duration::seconds(1));
        let (b, b_refresh) = app.login("md@example.com", IPHONE).await;

        let list_a = app.get("/api/v1/sessions/me").bearer(&a).await;
        let list_b = app.get("/api/v1/sessions/me").bearer(&b).await;
        assert_eq!(list_a.body["total"], 2, "{}", app.db.label);
        let keys: Vec<&str> = list_a.body["sessions"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "device_name",
                "device_id",
                "id",
                "ip_address",
                "location_city",
                "location_country",
                "last_used_at",
                "created_at",
                "expires_at",
                "is_current"
            ]
        );
        let (cur_a, cur_b) = (current_of(&list_a.body), current_of(&list_b.body));
        assert_eq!((cur_a.len(), cur_b.len()), (1, 1), "exactly one current session each");
        assert_ne!(cur_a, cur_b);
        // Most recently used first: B logged in last.
        assert_eq!(list_a.body["sessions"][0]["device_name"], "Mobile Safari on iOS");
        assert_eq!(list_a.body["sessions"][1]["device_name"], "Chrome on Mac OS X");

        // A ends B.
        let res = app.delete(&format!("/api/v1/sessions/{}", cur_b[0])).bearer(&a).await;
        assert_eq!(res.body, json!({"success": true, "message": "Session revoked: Mobile Safari on iOS"}));
        let res = app.get("/api/v1/users/me").bearer(&b).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked".into()));
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": b_refresh})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/sessions/me").bearer(&a).await.body["total"], 1);
    }
}

#[actix_web::test]
async fn session_revoke_and_rename_errors() {
    for app in TestApp::all().await {
        app.register("se@example.com").await;
        app.register("them@example.com").await;
        let (mine, _) = app.login("se@example.com", CHROME_MAC).await;
        let (theirs, _) = app.login("them@example.com", IPHONE).await;
        let their_id = current_of(&app.get("/api/v1/sessions/me").bearer(&theirs).await.body)[0].clone();
        let my_id = current_of(&app.get("/api/v1/sessions/me").bearer(&mine).await.body)[0].clone();

        let del = |id: &str| app.delete(&format!("/api/v1/sessions/{id}")).bearer(&mine);
        let res = del(&their_id).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "You can only revoke your own sessions".into()));
        let unknown = uuid::Uuid::new_v4();
        let res = del(&unknown.to_string()).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("Session {unknown} not found")));
        let res = del("not-a-uuid").await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("session_id"))
        );

        let patch = |id: &str, body: Value| app.patch(&format!("/api/v1/sessions/{id}")).json(body).bearer(&mine);
        let res = patch(&my_id, json!({"device_name": "  Work laptop  "})).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        assert_eq!(
            (res.body["device_name"].as_str(), res.body["is_current"].as_bool()),
            (Some("Work laptop"), Some(true))
        );
        let res = patch(&my_id, json!({"device_name": "   "})).await;
        assert_eq!(res.body["errors"][0]["message"], "Value error, Device name cannot be empty");
        let res = patch(&my_id, json!({"device_name": "x".repeat(256)})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = patch(&their_id, json!({"device_name": "Mine now"})).await;
        assert_eq!(res.error().0, "AUTH_004");
        let res = patch(&unknown.to_string(), json!({"device_name": "x"})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        // Revoking your own current session works and ends it.
        let res = del(&my_id).await;
        assert_eq!(res.body["message"], "Session revoked: Work laptop");
        assert_eq!(app.get("/api/v1/users/me").bearer(&mine).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn logout_others_keeps_only_the_caller() {
    for app in TestApp::all().await {
        app.register("lo@example.com").await;
        let (a, _) = app.login("lo@example.com", CHROME_MAC).await;
        let (b, _) = app.login("lo@example.com", IPHONE).await;
        let (c, _) = app.login("lo@example.com", IPHONE).await;
        let res = app.post("/api/v1/auth/logout-others").bearer(&a).await;
        assert_eq!(res.body, json!({"success": true, "message": "Logged out from 2 other devices"}));
        assert_eq!(app.get("/api/v1/users/me").bearer(&a).await.status, StatusCode::OK);
        for t in [&b, &c] {
            assert_eq!(app.get("/api/v1/users/me").bearer(t).await.status, StatusCode::UNAUTHORIZED);
        }
        let list = app.get("/api/v1/sessions/me").bearer(&a).await;
        assert_eq!(
            (list.body["total"].as_i64(), list.body["sessions"][0]["is_current"].as_bool()),
            (Some(1), Some(true))
        );
    }
}

#[actix_web::test]
async fn the_eleventh_login_evicts_the_least_recently_used_session() {
    for app in TestApp::all_with(|c| c.sessions.max_sessions_per_user = 10).await {
        app.register("max@example.com").await;
        let mut tokens = Vec::new();
        for _ in 0..10 {
            tokens.push(app.login("max@example.com", CHROME_MAC).await.0);
            app.clock.advance(Duration::seconds(1));
        }
        // Using the first session makes the second the least recently used.
        let svc = &app.state.services;
        svc.flush_last_used();
        let written = svc.last_used_writes();
        app.clock.advance(Duration::minutes(2));
        assert_eq!(app.get("/api/v1/users/me").bearer(&tokens[0]).await.status, StatusCode::OK);
        // "Last used" is written off the request's path, within a second; now, here.
        svc.flush_last_used();
        assert_eq!(svc.last_used_writes(), written + 1, "the touch is written, by the thread or here");
        let (eleventh, _) = app.login("max@example.com", IPHONE).await;
        let list = app.get("/api/v1/sessions/me").bearer(&eleventh).await;
        assert_eq!(list.body["total"], 10, "{}", app.db.label);
        assert_eq!(
            app.get("/api/v1/users/me").bearer(&tokens[1]).await.status,
            StatusCode::UNAUTHORIZED,
            "LRU evicted"
        );
        assert_eq!(app.get("/api/v1/users/me").bearer(&tokens[0]).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/v1/users/me").bearer(&tokens[2]).await.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn deactivated_users_tokens_stop_working() {
    for app in TestApp::all().await {
        app.register("de@example.com").await;
        let (access, refresh) = app.login("de@example.com", CHROME_MAC).await;
        let id = app.user_id("de@example.com");
        user_repo::set_active(&mut app.db.db.conn().unwrap(), id, false, Ts(t0())).unwrap();
        let res = app.get("/api/v1/users/me").bearer(&access).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "Inactive user".into()), "{}", app.db.label);
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.error(), ("AUTH_006".into(), "Invalid refresh token".into()));
    }
}

#[actix_web::test]
async fn last_used_is_refreshed_at_most_once_a_minute() {
    for app in TestApp::all().await {
        app.register("lu@example.com").await;
        let (a, _) = app.login("lu@example.com", CHROME_MAC).await;
        let id = app.user_id("lu@example.com");
        let last_used =
            || session_repo::list_active(&mut app.db.db.conn().unwrap(), id, Ts(t0())).unwrap()[0].last_used_at.0;
        // "Last used" is written off the request's path (within a second); flushed here, at once.
        app.state.services.flush_last_used();
        let written = app.state.services.last_used_writes();
        app.clock.advance(Duration::seconds(30));
        app.get("/api/v1/users/me").bearer(&a).await;
        app.state.services.flush_last_used();
        assert_eq!(app.state.services.last_used_writes(), written, "nothing written within the interval");
        assert_eq!(last_used(), t0(), "{}", app.db.label);
        app.clock.advance(Duration::seconds(31));
        for _ in 0..3 {
            app.get("/api/v1/users/me").bearer(&a).await;
        }
        app.state.services.flush_last_used();
        assert_eq!(app.state.services.last_used_writes(), written + 1, "one write for the three requests");
        assert_eq!(last_used(), t0() + Duration::seconds(61));
    }
}

#[actix_web::test]
async fn expired_cleanup_and_history() {
    for app in TestApp::all().await {
        app.register("ex@example.com").await;
        let (a, _) = app.login("ex@example.com", CHROME_MAC).await;
        let (b, _) = app.login("ex@example.com", IPHONE).await;
        app.clock.advance(Duration::seconds(1));
        app.post("/api/v1/auth/logout-others").bearer(&a).await;
        app.clock.advance(Duration::seconds(1));
        let res =
            app.post("/api/v1/auth/login").json(json!({"email": "ex@example.com", "password": "Wrong-Pass-99!"})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);

        let res = app.delete("/api/v1/sessions/me/expired").bearer(&a).await;
        assert_eq!(res.body, json!({"success": true, "message": "Cleaned up 1 expired sessions"}), "{}", app.db.label);
        assert_eq!(app.get("/api/v1/users/me").bearer(&a).await.status, StatusCode::OK, "the live session stays");
        assert_eq!(app.get("/api/v1/users/me").bearer(&b).await.status, StatusCode::UNAUTHORIZED);

        let res = app.get("/api/v1/sessions/me/history?page=1&limit=2").bearer(&a).await;
        // Two logins (the second from a new device, alerted), a logout of the others, a failed login.
        assert_eq!(
            res.body["pagination"],
            json!({"total": 5, "page": 1, "page_size": 2, "total_pages": 3, "has_next": true, "has_prev": false})
        );
        let kinds: Vec<&str> =
            res.body["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["login_failed", "logout"]);
        let keys: Vec<&str> = res.body["data"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "event_type",
                "occurred_at",
                "ip_address",
                "location_city",
                "location_country",
                "device_name",
                "session_id"
            ]
        );
        let res = app.get("/api/v1/sessions/me/history?limit=101").bearer(&a).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[actix_web::test]
async fn device_id_is_stored_and_bounded() {
    for app in TestApp::all().await {
        app.register("dev@example.com").await;
        let req = |id: String| {
            app.post("/api/v1/auth/login")
                .json(json!({"email": "dev@example.com", "password": PASSWORD}))
                .header(("x-device-id", id))
        };
        let res = req("d".repeat(256)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.body["errors"][0]["field"], "X-Device-Id");
        let res = req("phone-123".into()).await;
        let access = res.body["access_token"].as_str().unwrap();
        let list = app.get("/api/v1/sessions/me").bearer(access).await;
        assert_eq!(list.body["sessions"][0]["device_id"], "phone-123");
        assert_eq!(list.body["total"], 1, "the refused login made no session");
    }
}
