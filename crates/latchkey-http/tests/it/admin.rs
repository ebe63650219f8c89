//! `/api/v1/users/{id}`, `/api/v1/users` and the admin API's users, sessions, statistics and audit trail.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Duration;
use latchkey_db::repo::{Window, events};
use serde_json::json;

use latchkey_testkit::app::{Account, CHROME_MAC, IPHONE};
use latchkey_testkit::{PASSWORD, TestApp};

/// Every `/admin` operation in the OpenAPI document (so routes added later are covered too) refuses an
/// anonymous caller with 401 and a normal user with 403, before looking at the path or the body.
#[actix_web::test]
async fn every_admin_route_refuses_normal_users_and_anonymous_callers() {
    for app in TestApp::all().await {
        let normal = app.user_on("normal@example.com", IPHONE).await.access;
        let doc = app.get("/api/v1/openapi.json").await.body;
        let mut checked = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/admin") {
                continue;
            }
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { seg.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            for method in ops.as_object().unwrap().keys() {
                let req = || {
                    TestRequest::default()
                        .method(method.to_uppercase().parse().unwrap())
                        .uri(&concrete)
                        .set_json(json!({}))
                };
                let res = app.call(req()).await;
                assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}: {:?}", res.body);
                assert_eq!(res.error().0, "AUTH_006", "{method} {path}");
                let res = app.request(req()).bearer(&normal).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{}: {method} {path}: {:?}", app.db.label, res.body);
                assert_eq!(res.error(), ("AUTH_004".into(), "Superuser privileges required".into()));
                checked += 1;
            }
        }
        assert!(checked >= 13, "only {checked} admin operations in the document");
    }
}

#[actix_web::test]
async fn user_list_pages_filters_and_sorts() {
    for app in TestApp::all().await {
        let admin = app.superuser("root@example.com").await.access;
        app.clock.advance(Duration::seconds(1));
        let normal = app.user_on("normal@example.com", IPHONE).await.access;
        for i in 0..4 {
            app.clock.advance(Duration::seconds(1));
            app.register(&format!("u{i}@example.com")).await;
        }
        let res = app.get("/api/v1/users").bearer(&normal).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_004".into(), "Not enough permissions".into())),
            "{}",
            app.db.label
        );
        for base in ["/api/v1/users", "/api/v1/admin/users"] {
            let page = |q: &str| app.get(&format!("{base}?{q}")).bearer(&admin);
            // Six live users: root, normal, u0..u3.
            let res = page("limit=4&sort_by=email").await;
            assert_eq!(res.status, StatusCode::OK, "{base}: {:?}", res.body);
            assert_eq!(
                res.body["pagination"],
                json!({"total": 6, "page": 1, "page_size": 4, "total_pages": 2, "has_next": true, "has_prev": false})
            );
            let emails: Vec<&str> =
                res.body["data"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
            assert_eq!(emails, ["normal@example.com", "root@example.com", "u0@example.com", "u1@example.com"]);
            let last = page("limit=4&page=2&sort_by=email&sort_order=desc").await;
            assert_eq!(last.body["pagination"]["page_size"], 2);
            assert_eq!(last.body["data"][1]["email"], "normal@example.com");
            assert_eq!(
                (last.body["pagination"]["has_next"].as_bool(), last.body["pagination"]["has_prev"].as_bool()),
                (Some(false), Some(true))
            );
            let past = page("limit=4&page=9").await;
            assert_eq!(
                (past.body["data"].as_array().unwrap().len(), past.body["pagination"]["has_prev"].as_bool()),
                (0, Some(true))
            );
            let empty = page("is_superuser=true&is_active=false").await;
            assert_eq!(
                empty.body["pagination"],
                json!({"total": 0, "page": 1, "page_size": 0, "total_pages": 0, "has_next": false, "has_prev": false})
            );
            assert_eq!(page("limit=100").await.status, StatusCode::OK);
            let res = page("limit=101").await;
            assert_eq!(
                (res.status, res.body["errors"][0]["field"].as_str(), res.body["errors"][0]["message"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"), Some("Input should be less than or equal to 100"))
            );
            let res = page("page=0").await;
            assert_eq!(res.body["errors"][0]["field"], "page");
            let res = page("sort_by=password_hash").await;
            assert_eq!(
                (res.status, res.body["errors"][0]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("sort_by"))
            );
            let message = res.body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("'email'") && message.contains("'created_at'"), "{message}");
            let res = page("is_superuser=true").await;
            assert_eq!(
                (res.body["pagination"]["total"].as_i64(), res.body["data"][0]["email"].as_str()),
                (Some(1), Some("root@example.com"))
            );
            // Default order: oldest first.
            let res = page("limit=1").await;
            assert_eq!(res.body["data"][0]["email"], "root@example.com", "{base}");
        }
        // Search (admin only), case-insensitive, on email and names.
        let res = app.get("/api/v1/admin/users?search=U2%40EXAMPLE").bearer(&admin).await;
        assert_eq!(
            (res.body["pagination"]["total"].as_i64(), res.body["data"][0]["email"].as_str()),
            (Some(1), Some("u2@example.com")),
            "{}",
            app.db.label
        );
        let res = app.get("/api/v1/admin/users?search=aDa&limit=100").bearer(&admin).await;
        assert_eq!(res.body["pagination"]["total"], 5, "every registered user is called Ada: {:?}", res.body);
    }
}

#[actix_web::test]
async fn users_by_id_self_or_superuser() {
    for app in TestApp::all().await {
        let Account { access: admin, id: admin_id, .. } = app.superuser("root@example.com").await;
        let Account { access: alice, id: alice_id, .. } = app.user_on("alice@example.com", IPHONE).await;
        let bob_id = app.user_on("bob@example.com", IPHONE).await.id;
        let missing = uuid::Uuid::new_v4();
        let path = |id: &str| format!("/api/v1/users/{id}");

        assert_eq!(app.get(&path(&alice_id)).bearer(&alice).await.body["email"], "alice@example.com");
        for id in [bob_id.clone(), missing.to_string()] {
            // 403 before 404: a normal user cannot probe which ids exist.
            let res = app.get(&path(&id)).bearer(&alice).await;
            assert_eq!(
                res.error(),
                ("AUTH_004".into(), "Not enough permissions to view this user".into()),
                "{}",
                app.db.label
            );
            let res = app.patch(&path(&id)).bearer(&alice).json(json!({"first_name": "X"})).await;
            assert_eq!(res.error(), ("AUTH_004".into(), "Not enough permissions to update this user".into()));
        }
        let res = app.get(&path(&missing.to_string())).bearer(&admin).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::NOT_FOUND, ("SYS_002".into(), format!("User {missing} not found")))
        );
        let res = app.patch(&path(&missing.to_string())).bearer(&admin).json(json!({"first_name": "X"})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.get(&path("not-a-uuid")).bearer(&admin).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("user_id"))
        );

        // Your own profile through /users/{id}.
        let res = app.patch(&path(&alice_id)).bearer(&alice).json(json!({"first_name": "Alicia"})).await;
        assert_eq!((res.status, res.body["first_name"].as_str()), (StatusCode::OK, Some("Alicia")), "{:?}", res.body);
        let res = app.patch(&path(&alice_id)).bearer(&alice).json(json!({"is_superuser": true})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

        // A superuser sets Bob's password: no current password needed, and every Bob session ends.
        let (bob_a, bob_r) = app.login("bob@example.com", CHROME_MAC).await;
        let res = app
            .patch(&path(&bob_id))
            .bearer(&admin)
            .json(json!({"password": "Admin-Set-Pass-42!", "last_name": "B"}))
            .await;
        assert_eq!((res.status, res.body["last_name"].as_str()), (StatusCode::OK, Some("B")), "{:?}", res.body);
        assert_eq!(app.get("/api/v1/users/me").bearer(&bob_a).await.status, StatusCode::UNAUTHORIZED);
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": bob_r})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "bob@example.com", "password": "Admin-Set-Pass-42!"}))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let weak = app.patch(&path(&bob_id)).bearer(&admin).json(json!({"password": "weak"})).await;
        assert_eq!(
            (weak.status, weak.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );

        // DELETE /users/{id}: superusers only, never yourself (AUTH_007, as the admin API).
        let res = app.delete(&path(&bob_id)).bearer(&alice).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "Not enough permissions".into()));
        let res = app.delete(&path(&admin_id)).bearer(&admin).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_007".into(), "Cannot delete your own account".into()))
        );
        let res = app.delete(&path(&missing.to_string())).bearer(&admin).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.delete(&path(&alice_id)).bearer(&admin).await;
        assert_eq!(res.body, json!({"success": true, "message": format!("User {alice_id} deleted successfully")}));
        assert_eq!(app.delete(&path(&alice_id)).bearer(&admin).await.status, StatusCode::OK, "repeatable");
    }
}

/// Soft delete: the account cannot log in or refresh, its tokens stop at once, it is hidden from lists,
/// its email stays taken; a superuser can still read it.
#[actix_web::test]
async fn soft_deleted_users_are_gone_but_their_email_stays_taken() {
    for app in TestApp::all().await {
        let admin = app.superuser("root@example.com").await.access;
        let Account { access, refresh, id } = app.user_on("gone@example.com", IPHONE).await;
        let res = app.delete(&format!("/api/v1/admin/users/{id}")).bearer(&admin).await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User gone@example.com has been deleted"}),
            "{}",
            app.db.label
        );
        assert_eq!(app.get("/api/v1/users/me").bearer(&access).await.status, StatusCode::UNAUTHORIZED);
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app.post("/api/v1/auth/login").json(json!({"email": "gone@example.com", "password": PASSWORD})).await;
        assert_eq!(res.error(), ("AUTH_001".into(), "Invalid email or password".into()));
        let res = app
            .post("/api/v1/auth/register")
            .json(json!({"email": "GONE@example.com", "password": PASSWORD, "first_name": "G"}))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "the email stays taken");
        let res = app
            .post("/api/v1/admin/users")
            .bearer(&admin)
            .json(json!({"email": "gone@example.com", "password": PASSWORD, "first_name": "G"}))
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        for list in ["/api/v1/users", "/api/v1/admin/users?search=gone"] {
            let res = app.get(list).bearer(&admin).await;
            assert!(res.body["data"].as_array().unwrap().iter().all(|u| u["email"] != "gone@example.com"), "{list}");
        }
        let res = app.get(&format!("/api/v1/admin/users/{id}")).bearer(&admin).await;
        assert_eq!((res.status, res.body["email"].as_str()), (StatusCode::OK, Some("gone@example.com")));
        assert_eq!(app.delete(&format!("/api/v1/admin/users/{id}")).bearer(&admin).await.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn admin_creates_reads_and_updates_users() {
    for app in TestApp::all().await {
        let Account { access: admin, id: admin_id, .. } = app.superuser("root@example.com").await;
        let body = json!({"email": "New@Example.com", "password": PASSWORD, "first_name": "New", "is_superuser": true});
        let res = app.post("/api/v1/admin/users").bearer(&admin).json(body.clone()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}: {:?}", app.db.label, res.body);
        assert_eq!(
            (res.body["email"].as_str(), res.body["is_superuser"].as_bool()),
            (Some("new@example.com"), Some(true))
        );
        let id = res.body["id"].as_str().unwrap().to_owned();
        let res = app.post("/api/v1/admin/users").bearer(&admin).json(body).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::CONFLICT, ("USER_002".into(), "User with email new@example.com already exists".into()))
        );
        let res = app.post("/api/v1/admin/users").bearer(&admin).json(json!({"email": "x@example.com"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post("/api/v1/admin/users")
            .bearer(&admin)
            .json(json!({"email": "y@example.com", "password": "short", "first_name": "Y"}))
            .await;
        assert_eq!(res.body["errors"][0]["field"], "password");
        // The new account logs in.
        app.login("new@example.com", CHROME_MAC).await;

        let path = format!("/api/v1/admin/users/{id}");
        assert_eq!(app.get(&path).bearer(&admin).await.body["first_name"], "New");
        let missing = uuid::Uuid::new_v4();
        let res = app.get(&format!("/api/v1/admin/users/{missing}")).bearer(&admin).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("User {missing} not found")));
        let res = app.put(&path).bearer(&admin).json(json!({"first_name": "Renamed", "locale": "it-IT"})).await;
        assert_eq!(
            (res.body["first_name"].as_str(), res.body["locale"].as_str()),
            (Some("Renamed"), Some("it-it")),
            "{:?}",
            res.body
        );
        let res = app.put(&path).bearer(&admin).json(json!({"is_superuser": false})).await;
        assert_eq!(res.body["errors"][0]["message"], "Value error, Cannot modify superuser status through user update");
        let res =
            app.put(&format!("/api/v1/admin/users/{missing}")).bearer(&admin).json(json!({"first_name": "X"})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        // An administrator cannot lock themselves out through the admin API.
        let res =
            app.put(&format!("/api/v1/admin/users/{admin_id}")).bearer(&admin).json(json!({"is_active": false})).await;
        assert_eq!(res.error(), ("AUTH_007".into(), "Cannot deactivate your own account".into()));
        let res = app.delete(&format!("/api/v1/admin/users/{admin_id}")).bearer(&admin).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_007".into(), "Cannot delete your own account".into()))
        );
        let res = app.post(&format!("/api/v1/admin/users/{admin_id}/deactivate")).bearer(&admin).json(json!({})).await;
        assert_eq!(res.error(), ("AUTH_007".into(), "Cannot deactivate your own account".into()));
        assert_eq!(app.get("/api/v1/users/me").bearer(&admin).await.status, StatusCode::OK);
    }
}

/// Deactivation ends every session; reactivation lets the user log in again but brings none back.
#[actix_web::test]
async fn deactivate_ends_sessions_and_reactivate_does_not_restore_them() {
    for app in TestApp::all().await {
        let admin = app.superuser("root@example.com").await.access;
        let Account { access, refresh, id } = app.user_on("de@example.com", IPHONE).await;
        let (other, _) = app.login("de@example.com", CHROME_MAC).await;
        let res = app.post(&format!("/api/v1/admin/users/{id}/deactivate")).bearer(&admin).json(json!({})).await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User de@example.com has been deactivated"}),
            "{}",
            app.db.label
        );
        let res = app.post("/api/v1/auth/login").json(json!({"email": "de@example.com", "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = app.post(&format!("/api/v1/admin/users/{id}/activate")).bearer(&admin).json(json!({})).await;
        assert_eq!(res.body, json!({"success": true, "message": "User de@example.com has been activated"}));
        for token in [&access, &other] {
            let res = app.get("/api/v1/users/me").bearer(token).await;
            assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked".into()), "{}", app.db.label);
        }
        let res = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": refresh})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let (fresh, _) = app.login("de@example.com", CHROME_MAC).await;
        assert_eq!(app.get("/api/v1/users/me").bearer(&fresh).await.status, StatusCode::OK);
        let missing = uuid::Uuid::new_v4();
        for action in ["activate", "deactivate"] {
            let res = app.post(&format!("/api/v1/admin/users/{missing}/{action}")).bearer(&admin).json(json!({})).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{action}");
        }
    }
}

#[actix_web::test]
async fn bulk_actions_skip_the_caller_and_end_sessions() {
    for app in TestApp::all().await {
        let Account { access: admin, id: admin_id, .. } = app.superuser("root@example.com").await;
        let Account { access: a_token, id: a, .. } = app.user_on("a@example.com", IPHONE).await;
        let b = app.user_on("b@example.com", IPHONE).await.id;
        let missing = uuid::Uuid::new_v4().to_string();
        let bulk = |action: &str, ids: Vec<&str>| {
            app.post("/api/v1/admin/users/bulk-action").bearer(&admin).json(json!({"action": action, "user_ids": ids}))
        };

        let res = bulk("deactivate", vec![&a, &b, &admin_id, &missing]).await;
        assert_eq!(
            res.body,
            json!({"success": false, "affected_count": 2, "failed_count": 2, "message": "Bulk deactivate: 2 users affected, 2 skipped", "failed_ids": null}),
            "{}",
            app.db.label
        );
        assert_eq!(app.get("/api/v1/users/me").bearer(&a_token).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/users/me").bearer(&admin).await.status, StatusCode::OK, "the caller is skipped");
        let res = bulk("activate", vec![&a, &b]).await;
        assert_eq!((res.body["success"].as_bool(), res.body["affected_count"].as_i64()), (Some(true), Some(2)));
        let res = bulk("delete", vec![&a, &admin_id]).await;
        assert_eq!((res.body["affected_count"].as_i64(), res.body["failed_count"].as_i64()), (Some(1), Some(1)));
        let res = bulk("delete", vec![&a]).await;
        assert_eq!(res.body["affected_count"], 0, "already deleted users are skipped");
        assert_eq!(app.get("/api/v1/users/me").bearer(&admin).await.status, StatusCode::OK);

        let res = bulk("explode", vec![&a]).await;
        assert_eq!(res.body["errors"][0]["message"], "Input should be 'activate', 'deactivate' or 'delete'");
        let res = bulk("delete", vec![]).await;
        assert_eq!(res.body["errors"][0]["message"], "List should have at least 1 item after validation, not 0");
        let many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let res = bulk("delete", many.iter().map(String::as_str).collect()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = bulk("delete", vec!["nope"]).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("user_ids.0"))
        );
    }
}

/// Session management, and the audit trail: the target sees admin revocations in their history, and each
/// admin action is recorded with the acting administrator.
#[actix_web::test]
async fn admin_sessions_and_the_audit_trail() {
    for app in TestApp::all().await {
        let Account { access: admin, id: admin_id, .. } = app.superuser("root@example.com").await;
        let Account { access: t1, id, .. } = app.user_on("target@example.com", IPHONE).await;
        app.clock.advance(Duration::seconds(5));
        let (t2, _) = app.login("target@example.com", CHROME_MAC).await;

        let res = app.get("/api/v1/admin/sessions").bearer(&admin).await;
        assert_eq!(res.body["pagination"]["total"], 3, "{}: {:?}", app.db.label, res.body);
        let first = &res.body["data"][0];
        assert_eq!(
            (first["user_email"].as_str(), first["user_full_name"].as_str(), first["is_active"].as_bool()),
            (Some("target@example.com"), Some("Ada"), Some(true))
        );
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 13, "{keys:?}");

        let res = app.get(&format!("/api/v1/admin/users/{id}/sessions")).bearer(&admin).await;
        assert_eq!(res.body["pagination"]["total"], 2);
        let newest = res.body["data"][0]["id"].as_str().unwrap().to_owned();
        let missing = uuid::Uuid::new_v4();
        let res = app.get(&format!("/api/v1/admin/users/{missing}/sessions")).bearer(&admin).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        app.clock.advance(Duration::seconds(5));
        let res = app.delete(&format!("/api/v1/admin/sessions/{newest}")).bearer(&admin).await;
        assert_eq!((res.status, res.body["success"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", res.body);
        assert_eq!(app.get("/api/v1/users/me").bearer(&t2).await.status, StatusCode::UNAUTHORIZED);
        let res = app.delete(&format!("/api/v1/admin/sessions/{missing}")).bearer(&admin).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("Session {missing} not found")));

        // The target sees the revocation in their own history.
        let history = app.get("/api/v1/sessions/me/history").bearer(&t1).await;
        let kinds: Vec<&str> =
            history.body["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"session_revoked"), "{}: {kinds:?}", app.db.label);

        let res = app.post(&format!("/api/v1/admin/users/{id}/revoke-sessions")).bearer(&admin).json(json!({})).await;
        assert_eq!(res.body, json!({"success": true, "message": "Revoked 1 sessions for target@example.com"}));
        assert_eq!(app.get("/api/v1/users/me").bearer(&t1).await.status, StatusCode::UNAUTHORIZED);
        let res = app.get("/api/v1/admin/sessions?is_active=false").bearer(&admin).await;
        assert_eq!(res.body["pagination"]["total"], 3, "all sessions, ended ones included");
        let res = app.get("/api/v1/admin/sessions").bearer(&admin).await;
        assert_eq!(res.body["pagination"]["total"], 1, "only the admin's own");

        // Every admin action above is in the audit trail with the acting administrator.
        let admin_uuid: uuid::Uuid = admin_id.parse().unwrap();
        let target: uuid::Uuid = id.parse().unwrap();
        let trail = events::list_by_actor(&mut app.db.db.conn().unwrap(), admin_uuid, Window::page(1, 50)).unwrap();
        assert_eq!(trail.total, 2, "{}: {:?}", app.db.label, trail.items);
        assert!(trail.items.iter().all(|e| e.user_id.map(|u| u.0) == Some(target) && e.kind == "session_revoked"));
        assert!(trail.items.iter().any(|e| e.session_id.map(|s| s.0.to_string()) == Some(newest.clone())));
    }
}

#[actix_web::test]
async fn stats_come_from_the_database() {
    for app in TestApp::all().await {
        app.superuser("root@example.com").await;
        let gone = app.user_on("gone@example.com", IPHONE).await.id;
        let off = app.user_on("off@example.com", IPHONE).await.id;
        app.clock.advance(Duration::days(1));
        let (admin, _) = app.login("root@example.com", CHROME_MAC).await;
        app.user_on("today@example.com", IPHONE).await;
        app.delete(&format!("/api/v1/admin/users/{gone}")).bearer(&admin).await;
        app.post(&format!("/api/v1/admin/users/{off}/deactivate")).bearer(&admin).json(json!({})).await;

        let res = app.get("/api/v1/admin/stats").bearer(&admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
        let growth = res.body["user_growth"].as_array().unwrap();
        assert_eq!(growth.len(), 30);
        // t0 is 2026-11-28; the clock now says the 29th. Every account row counts, the soft-deleted one too
        // (as in the reference: "counts include soft-deleted users"), so the charts agree with each other.
        assert_eq!(growth[29], json!({"date": "Nov 29", "total_users": 4, "active_users": 3}), "{}", app.db.label);
        assert_eq!(growth[28], json!({"date": "Nov 28", "total_users": 3, "active_users": 2}));
        assert_eq!(growth[0]["total_users"], 0);
        let activity = res.body["registration_activity"].as_array().unwrap();
        assert_eq!(activity.len(), 14);
        assert_eq!(activity[13], json!({"date": "Nov 29", "registrations": 1}));
        assert_eq!(activity[12], json!({"date": "Nov 28", "registrations": 3}), "deleted accounts still registered");
        assert_eq!(res.body["user_status"], json!([{"name": "Active", "value": 3}, {"name": "Inactive", "value": 1}]));
        let registered: i64 = activity.iter().map(|d| d["registrations"].as_i64().unwrap()).sum();
        assert_eq!(growth[29]["total_users"], registered, "{}: the charts agree", app.db.label);
        assert_eq!(res.body["organization_distribution"], json!([]));
    }
}
