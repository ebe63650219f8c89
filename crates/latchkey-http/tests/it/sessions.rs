//! Multi-device scenarios and `/api/v1/sessions`.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Duration;
use latchkey_db::Ts;
use latchkey_db::repo::{sessions as session_repo, users as user_repo};
use serde_json::{Value, json};

use crate::auth::uuid_of;
use crate::{CHROME_MAC, IPHONE, bearer, call, get, login, register, service, worlds, worlds_with};

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
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "md@example.com").await;
        let (a, _) = login(&app, "md@example.com", CHROME_MAC).await;
        w.clock.advance(Duration::seconds(1));
        let (b, b_refresh) = login(&app, "md@example.com", IPHONE).await;

        let list_a = call(&app, get("/api/v1/sessions/me", &a)).await;
        let list_b = call(&app, get("/api/v1/sessions/me", &b)).await;
        assert_eq!(list_a.body["total"], 2, "{}", w.db.label);
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
        let res = call(&app, bearer(TestRequest::delete().uri(&format!("/api/v1/sessions/{}", cur_b[0])), &a)).await;
        assert_eq!(res.body, json!({"success": true, "message": "Session revoked: Mobile Safari on iOS"}));
        let res = call(&app, get("/api/v1/users/me", &b)).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked".into()));
        let res = call(&app, crate::post("/api/v1/auth/refresh", json!({"refresh_token": b_refresh}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, get("/api/v1/sessions/me", &a)).await.body["total"], 1);
    }
}

#[actix_web::test]
async fn session_revoke_and_rename_errors() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "se@example.com").await;
        register(&app, "them@example.com").await;
        let (mine, _) = login(&app, "se@example.com", CHROME_MAC).await;
        let (theirs, _) = login(&app, "them@example.com", IPHONE).await;
        let their_id = current_of(&call(&app, get("/api/v1/sessions/me", &theirs)).await.body)[0].clone();
        let my_id = current_of(&call(&app, get("/api/v1/sessions/me", &mine)).await.body)[0].clone();

        let del = |id: &str| bearer(TestRequest::delete().uri(&format!("/api/v1/sessions/{id}")), &mine);
        let res = call(&app, del(&their_id)).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "You can only revoke your own sessions".into()));
        let unknown = uuid::Uuid::new_v4();
        let res = call(&app, del(&unknown.to_string())).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("Session {unknown} not found")));
        let res = call(&app, del("not-a-uuid")).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("session_id"))
        );

        let patch = |id: &str, body: Value| {
            bearer(TestRequest::patch().uri(&format!("/api/v1/sessions/{id}")).set_json(body), &mine)
        };
        let res = call(&app, patch(&my_id, json!({"device_name": "  Work laptop  "}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", w.db.label, res.body);
        assert_eq!(
            (res.body["device_name"].as_str(), res.body["is_current"].as_bool()),
            (Some("Work laptop"), Some(true))
        );
        let res = call(&app, patch(&my_id, json!({"device_name": "   "}))).await;
        assert_eq!(res.body["errors"][0]["message"], "Value error, Device name cannot be empty");
        let res = call(&app, patch(&my_id, json!({"device_name": "x".repeat(256)}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = call(&app, patch(&their_id, json!({"device_name": "Mine now"}))).await;
        assert_eq!(res.error().0, "AUTH_004");
        let res = call(&app, patch(&unknown.to_string(), json!({"device_name": "x"}))).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        // Revoking your own current session works and ends it.
        let res = call(&app, del(&my_id)).await;
        assert_eq!(res.body["message"], "Session revoked: Work laptop");
        assert_eq!(call(&app, get("/api/v1/users/me", &mine)).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn logout_others_keeps_only_the_caller() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "lo@example.com").await;
        let (a, _) = login(&app, "lo@example.com", CHROME_MAC).await;
        let (b, _) = login(&app, "lo@example.com", IPHONE).await;
        let (c, _) = login(&app, "lo@example.com", IPHONE).await;
        let res = call(&app, bearer(TestRequest::post().uri("/api/v1/auth/logout-others"), &a)).await;
        assert_eq!(res.body, json!({"success": true, "message": "Logged out from 2 other devices"}));
        assert_eq!(call(&app, get("/api/v1/users/me", &a)).await.status, StatusCode::OK);
        for t in [&b, &c] {
            assert_eq!(call(&app, get("/api/v1/users/me", t)).await.status, StatusCode::UNAUTHORIZED);
        }
        let list = call(&app, get("/api/v1/sessions/me", &a)).await;
        assert_eq!(
            (list.body["total"].as_i64(), list.body["sessions"][0]["is_current"].as_bool()),
            (Some(1), Some(true))
        );
    }
}

#[actix_web::test]
async fn the_eleventh_login_evicts_the_least_recently_used_session() {
    for w in worlds_with(|c| c.max_sessions_per_user = 10) {
        let app = service(w.state.clone()).await;
        register(&app, "max@example.com").await;
        let mut tokens = Vec::new();
        for _ in 0..10 {
            tokens.push(login(&app, "max@example.com", CHROME_MAC).await.0);
            w.clock.advance(Duration::seconds(1));
        }
        // Using the first session makes the second the least recently used.
        w.clock.advance(Duration::minutes(2));
        assert_eq!(call(&app, get("/api/v1/users/me", &tokens[0])).await.status, StatusCode::OK);
        // "Last used" is written off the request's path, within a second; now, here.
        assert_eq!(w.state.services.flush_last_used(), 1);
        let (eleventh, _) = login(&app, "max@example.com", IPHONE).await;
        let list = call(&app, get("/api/v1/sessions/me", &eleventh)).await;
        assert_eq!(list.body["total"], 10, "{}", w.db.label);
        assert_eq!(
            call(&app, get("/api/v1/users/me", &tokens[1])).await.status,
            StatusCode::UNAUTHORIZED,
            "LRU evicted"
        );
        assert_eq!(call(&app, get("/api/v1/users/me", &tokens[0])).await.status, StatusCode::OK);
        assert_eq!(call(&app, get("/api/v1/users/me", &tokens[2])).await.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn deactivated_users_tokens_stop_working() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "de@example.com").await;
        let (access, refresh) = login(&app, "de@example.com", CHROME_MAC).await;
        let id = uuid_of(&w, "de@example.com");
        user_repo::set_active(&mut w.db.db.conn().unwrap(), id, false, Ts(crate::t0())).unwrap();
        let res = call(&app, get("/api/v1/users/me", &access)).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "Inactive user".into()), "{}", w.db.label);
        let res = call(&app, crate::post("/api/v1/auth/refresh", json!({"refresh_token": refresh}))).await;
        assert_eq!(res.error(), ("AUTH_006".into(), "Invalid refresh token".into()));
    }
}

#[actix_web::test]
async fn last_used_is_refreshed_at_most_once_a_minute() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "lu@example.com").await;
        let (a, _) = login(&app, "lu@example.com", CHROME_MAC).await;
        let id = uuid_of(&w, "lu@example.com");
        let last_used =
            || session_repo::list_active(&mut w.db.db.conn().unwrap(), id, Ts(crate::t0())).unwrap()[0].last_used_at.0;
        // "Last used" is written off the request's path (within a second); flushed here, at once.
        w.clock.advance(Duration::seconds(30));
        call(&app, get("/api/v1/users/me", &a)).await;
        assert_eq!(w.state.services.flush_last_used(), 0);
        assert_eq!(last_used(), crate::t0(), "{}", w.db.label);
        w.clock.advance(Duration::seconds(31));
        for _ in 0..3 {
            call(&app, get("/api/v1/users/me", &a)).await;
        }
        assert_eq!(w.state.services.flush_last_used(), 1, "one write for the three requests");
        assert_eq!(last_used(), crate::t0() + Duration::seconds(61));
    }
}

#[actix_web::test]
async fn expired_cleanup_and_history() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "ex@example.com").await;
        let (a, _) = login(&app, "ex@example.com", CHROME_MAC).await;
        let (b, _) = login(&app, "ex@example.com", IPHONE).await;
        w.clock.advance(Duration::seconds(1));
        call(&app, bearer(TestRequest::post().uri("/api/v1/auth/logout-others"), &a)).await;
        w.clock.advance(Duration::seconds(1));
        let res = call(
            &app,
            crate::post("/api/v1/auth/login", json!({"email": "ex@example.com", "password": "Wrong-Pass-99!"})),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);

        let res = call(&app, bearer(TestRequest::delete().uri("/api/v1/sessions/me/expired"), &a)).await;
        assert_eq!(res.body, json!({"success": true, "message": "Cleaned up 1 expired sessions"}), "{}", w.db.label);
        assert_eq!(call(&app, get("/api/v1/users/me", &a)).await.status, StatusCode::OK, "the live session stays");
        assert_eq!(call(&app, get("/api/v1/users/me", &b)).await.status, StatusCode::UNAUTHORIZED);

        let res = call(&app, get("/api/v1/sessions/me/history?page=1&limit=2", &a)).await;
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
        let res = call(&app, get("/api/v1/sessions/me/history?limit=101", &a)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[actix_web::test]
async fn device_id_is_stored_and_bounded() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        register(&app, "dev@example.com").await;
        let req = |id: String| {
            crate::post("/api/v1/auth/login", json!({"email": "dev@example.com", "password": crate::PASSWORD}))
                .insert_header(("x-device-id", id))
        };
        let res = call(&app, req("d".repeat(256))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.body["errors"][0]["field"], "X-Device-Id");
        let res = call(&app, req("phone-123".into())).await;
        let access = res.body["access_token"].as_str().unwrap();
        let list = call(&app, get("/api/v1/sessions/me", access)).await;
        assert_eq!(list.body["sessions"][0]["device_id"], "phone-123");
        assert_eq!(list.body["total"], 1, "the refused login made no session");
    }
}
