//! `/api/v1/users/{id}`, `/api/v1/users` and the admin API's users, sessions, statistics and audit trail.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Duration;
use latchkey_db::repo::{Window, events};
use serde_json::{Value, json};

use crate::{CHROME_MAC, IPHONE, PASSWORD, World, bearer, call, get, login, post, register, service, worlds};

/// Creates a superuser in `w` and logs them in; returns (access token, user id).
async fn superuser<S, B>(w: &World, app: &S, email: &str) -> (String, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    assert!(latchkey_service::registration::create_superuser(&w.state.services, email, PASSWORD).unwrap());
    let (access, _) = login(app, email, CHROME_MAC).await;
    let me = call(app, get("/api/v1/users/me", &access)).await;
    (access, me.body["id"].as_str().unwrap().to_owned())
}

/// Registers `email` and logs in; returns (access, refresh, user id).
async fn user<S, B>(app: &S, email: &str) -> (String, String, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let id = register(app, email).await.body["id"].as_str().unwrap().to_owned();
    let (access, refresh) = login(app, email, IPHONE).await;
    (access, refresh, id)
}

fn with_body(req: TestRequest, token: &str, body: Value) -> TestRequest {
    bearer(req.set_json(body), token)
}

fn patch(path: &str, token: &str, body: Value) -> TestRequest {
    with_body(TestRequest::patch().uri(path), token, body)
}

fn put(path: &str, token: &str, body: Value) -> TestRequest {
    with_body(TestRequest::put().uri(path), token, body)
}

fn delete(path: &str, token: &str) -> TestRequest {
    bearer(TestRequest::delete().uri(path), token)
}

fn post_as(path: &str, token: &str, body: Value) -> TestRequest {
    with_body(TestRequest::post().uri(path), token, body)
}

/// Every `/admin` operation in the OpenAPI document (so routes added later are covered too) refuses an
/// anonymous caller with 401 and a normal user with 403, before looking at the path or the body.
#[actix_web::test]
async fn every_admin_route_refuses_normal_users_and_anonymous_callers() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (normal, _, _) = user(&app, "normal@example.com").await;
        let doc = call(&app, TestRequest::get().uri("/api/v1/openapi.json")).await.body;
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
                let res = call(&app, req()).await;
                assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}: {:?}", res.body);
                assert_eq!(res.error().0, "AUTH_006", "{method} {path}");
                let res = call(&app, bearer(req(), &normal)).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{}: {method} {path}: {:?}", w.db.label, res.body);
                assert_eq!(res.error(), ("AUTH_004".into(), "Superuser privileges required".into()));
                checked += 1;
            }
        }
        assert!(checked >= 13, "only {checked} admin operations in the document");
    }
}

#[actix_web::test]
async fn user_list_pages_filters_and_sorts() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, _) = superuser(&w, &app, "root@example.com").await;
        w.clock.advance(Duration::seconds(1));
        let (normal, _, _) = user(&app, "normal@example.com").await;
        for i in 0..4 {
            w.clock.advance(Duration::seconds(1));
            register(&app, &format!("u{i}@example.com")).await;
        }
        let res = call(&app, get("/api/v1/users", &normal)).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_004".into(), "Not enough permissions".into())),
            "{}",
            w.db.label
        );
        for base in ["/api/v1/users", "/api/v1/admin/users"] {
            let page = |q: &str| get(&format!("{base}?{q}"), &admin);
            // Six live users: root, normal, u0..u3.
            let res = call(&app, page("limit=4&sort_by=email")).await;
            assert_eq!(res.status, StatusCode::OK, "{base}: {:?}", res.body);
            assert_eq!(
                res.body["pagination"],
                json!({"total": 6, "page": 1, "page_size": 4, "total_pages": 2, "has_next": true, "has_prev": false})
            );
            let emails: Vec<&str> =
                res.body["data"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
            assert_eq!(emails, ["normal@example.com", "root@example.com", "u0@example.com", "u1@example.com"]);
            let last = call(&app, page("limit=4&page=2&sort_by=email&sort_order=desc")).await;
            assert_eq!(last.body["pagination"]["page_size"], 2);
            assert_eq!(last.body["data"][1]["email"], "normal@example.com");
            assert_eq!(
                (last.body["pagination"]["has_next"].as_bool(), last.body["pagination"]["has_prev"].as_bool()),
                (Some(false), Some(true))
            );
            let past = call(&app, page("limit=4&page=9")).await;
            assert_eq!(
                (past.body["data"].as_array().unwrap().len(), past.body["pagination"]["has_prev"].as_bool()),
                (0, Some(true))
            );
            let empty = call(&app, page("is_superuser=true&is_active=false")).await;
            assert_eq!(
                empty.body["pagination"],
                json!({"total": 0, "page": 1, "page_size": 0, "total_pages": 0, "has_next": false, "has_prev": false})
            );
            assert_eq!(call(&app, page("limit=100")).await.status, StatusCode::OK);
            let res = call(&app, page("limit=101")).await;
            assert_eq!(
                (res.status, res.body["errors"][0]["field"].as_str(), res.body["errors"][0]["message"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"), Some("Input should be less than or equal to 100"))
            );
            let res = call(&app, page("page=0")).await;
            assert_eq!(res.body["errors"][0]["field"], "page");
            let res = call(&app, page("sort_by=password_hash")).await;
            assert_eq!(
                (res.status, res.body["errors"][0]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("sort_by"))
            );
            let message = res.body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("'email'") && message.contains("'created_at'"), "{message}");
            let res = call(&app, page("is_superuser=true")).await;
            assert_eq!(
                (res.body["pagination"]["total"].as_i64(), res.body["data"][0]["email"].as_str()),
                (Some(1), Some("root@example.com"))
            );
            // Default order: oldest first.
            let res = call(&app, page("limit=1")).await;
            assert_eq!(res.body["data"][0]["email"], "root@example.com", "{base}");
        }
        // Search (admin only), case-insensitive, on email and names.
        let res = call(&app, get("/api/v1/admin/users?search=U2%40EXAMPLE", &admin)).await;
        assert_eq!(
            (res.body["pagination"]["total"].as_i64(), res.body["data"][0]["email"].as_str()),
            (Some(1), Some("u2@example.com")),
            "{}",
            w.db.label
        );
        let res = call(&app, get("/api/v1/admin/users?search=aDa&limit=100", &admin)).await;
        assert_eq!(res.body["pagination"]["total"], 5, "every registered user is called Ada: {:?}", res.body);
    }
}

#[actix_web::test]
async fn users_by_id_self_or_superuser() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, admin_id) = superuser(&w, &app, "root@example.com").await;
        let (alice, _, alice_id) = user(&app, "alice@example.com").await;
        let (_, _, bob_id) = user(&app, "bob@example.com").await;
        let missing = uuid::Uuid::new_v4();
        let path = |id: &str| format!("/api/v1/users/{id}");

        assert_eq!(call(&app, get(&path(&alice_id), &alice)).await.body["email"], "alice@example.com");
        for id in [bob_id.clone(), missing.to_string()] {
            // 403 before 404: a normal user cannot probe which ids exist.
            let res = call(&app, get(&path(&id), &alice)).await;
            assert_eq!(
                res.error(),
                ("AUTH_004".into(), "Not enough permissions to view this user".into()),
                "{}",
                w.db.label
            );
            let res = call(&app, patch(&path(&id), &alice, json!({"first_name": "X"}))).await;
            assert_eq!(res.error(), ("AUTH_004".into(), "Not enough permissions to update this user".into()));
        }
        let res = call(&app, get(&path(&missing.to_string()), &admin)).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::NOT_FOUND, ("SYS_002".into(), format!("User {missing} not found")))
        );
        let res = call(&app, patch(&path(&missing.to_string()), &admin, json!({"first_name": "X"}))).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = call(&app, get(&path("not-a-uuid"), &admin)).await;
        assert_eq!(
            (res.status, res.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("user_id"))
        );

        // Your own profile through /users/{id}.
        let res = call(&app, patch(&path(&alice_id), &alice, json!({"first_name": "Alicia"}))).await;
        assert_eq!((res.status, res.body["first_name"].as_str()), (StatusCode::OK, Some("Alicia")), "{:?}", res.body);
        let res = call(&app, patch(&path(&alice_id), &alice, json!({"is_superuser": true}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

        // A superuser sets Bob's password: no current password needed, and every Bob session ends.
        let (bob_a, bob_r) = login(&app, "bob@example.com", CHROME_MAC).await;
        let res =
            call(&app, patch(&path(&bob_id), &admin, json!({"password": "Admin-Set-Pass-42!", "last_name": "B"})))
                .await;
        assert_eq!((res.status, res.body["last_name"].as_str()), (StatusCode::OK, Some("B")), "{:?}", res.body);
        assert_eq!(call(&app, get("/api/v1/users/me", &bob_a)).await.status, StatusCode::UNAUTHORIZED);
        let res = call(&app, post("/api/v1/auth/refresh", json!({"refresh_token": bob_r}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = call(
            &app,
            post("/api/v1/auth/login", json!({"email": "bob@example.com", "password": "Admin-Set-Pass-42!"})),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        let weak = call(&app, patch(&path(&bob_id), &admin, json!({"password": "weak"}))).await;
        assert_eq!(
            (weak.status, weak.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );

        // DELETE /users/{id}: superusers only, never yourself (AUTH_007, as the admin API).
        let res = call(&app, delete(&path(&bob_id), &alice)).await;
        assert_eq!(res.error(), ("AUTH_004".into(), "Not enough permissions".into()));
        let res = call(&app, delete(&path(&admin_id), &admin)).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_007".into(), "Cannot delete your own account".into()))
        );
        let res = call(&app, delete(&path(&missing.to_string()), &admin)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = call(&app, delete(&path(&alice_id), &admin)).await;
        assert_eq!(res.body, json!({"success": true, "message": format!("User {alice_id} deleted successfully")}));
        assert_eq!(call(&app, delete(&path(&alice_id), &admin)).await.status, StatusCode::OK, "repeatable");
    }
}

/// Soft delete: the account cannot log in or refresh, its tokens stop at once, it is hidden from lists,
/// its email stays taken; a superuser can still read it.
#[actix_web::test]
async fn soft_deleted_users_are_gone_but_their_email_stays_taken() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, _) = superuser(&w, &app, "root@example.com").await;
        let (access, refresh, id) = user(&app, "gone@example.com").await;
        let res = call(&app, delete(&format!("/api/v1/admin/users/{id}"), &admin)).await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User gone@example.com has been deleted"}),
            "{}",
            w.db.label
        );
        assert_eq!(call(&app, get("/api/v1/users/me", &access)).await.status, StatusCode::UNAUTHORIZED);
        let res = call(&app, post("/api/v1/auth/refresh", json!({"refresh_token": refresh}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res =
            call(&app, post("/api/v1/auth/login", json!({"email": "gone@example.com", "password": PASSWORD}))).await;
        assert_eq!(res.error(), ("AUTH_001".into(), "Invalid email or password".into()));
        let res = call(
            &app,
            post(
                "/api/v1/auth/register",
                json!({"email": "GONE@example.com", "password": PASSWORD, "first_name": "G"}),
            ),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "the email stays taken");
        let res = call(
            &app,
            post_as(
                "/api/v1/admin/users",
                &admin,
                json!({"email": "gone@example.com", "password": PASSWORD, "first_name": "G"}),
            ),
        )
        .await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        for list in ["/api/v1/users", "/api/v1/admin/users?search=gone"] {
            let res = call(&app, get(list, &admin)).await;
            assert!(res.body["data"].as_array().unwrap().iter().all(|u| u["email"] != "gone@example.com"), "{list}");
        }
        let res = call(&app, get(&format!("/api/v1/admin/users/{id}"), &admin)).await;
        assert_eq!((res.status, res.body["email"].as_str()), (StatusCode::OK, Some("gone@example.com")));
        assert_eq!(call(&app, delete(&format!("/api/v1/admin/users/{id}"), &admin)).await.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn admin_creates_reads_and_updates_users() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, admin_id) = superuser(&w, &app, "root@example.com").await;
        let body = json!({"email": "New@Example.com", "password": PASSWORD, "first_name": "New", "is_superuser": true});
        let res = call(&app, post_as("/api/v1/admin/users", &admin, body.clone())).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}: {:?}", w.db.label, res.body);
        assert_eq!(
            (res.body["email"].as_str(), res.body["is_superuser"].as_bool()),
            (Some("new@example.com"), Some(true))
        );
        let id = res.body["id"].as_str().unwrap().to_owned();
        let res = call(&app, post_as("/api/v1/admin/users", &admin, body)).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::CONFLICT, ("USER_002".into(), "User with email new@example.com already exists".into()))
        );
        let res = call(&app, post_as("/api/v1/admin/users", &admin, json!({"email": "x@example.com"}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = call(
            &app,
            post_as(
                "/api/v1/admin/users",
                &admin,
                json!({"email": "y@example.com", "password": "short", "first_name": "Y"}),
            ),
        )
        .await;
        assert_eq!(res.body["errors"][0]["field"], "password");
        // The new account logs in.
        login(&app, "new@example.com", CHROME_MAC).await;

        let path = format!("/api/v1/admin/users/{id}");
        assert_eq!(call(&app, get(&path, &admin)).await.body["first_name"], "New");
        let missing = uuid::Uuid::new_v4();
        let res = call(&app, get(&format!("/api/v1/admin/users/{missing}"), &admin)).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("User {missing} not found")));
        let res = call(&app, put(&path, &admin, json!({"first_name": "Renamed", "locale": "it-IT"}))).await;
        assert_eq!(
            (res.body["first_name"].as_str(), res.body["locale"].as_str()),
            (Some("Renamed"), Some("it-it")),
            "{:?}",
            res.body
        );
        let res = call(&app, put(&path, &admin, json!({"is_superuser": false}))).await;
        assert_eq!(res.body["errors"][0]["message"], "Value error, Cannot modify superuser status through user update");
        let res = call(&app, put(&format!("/api/v1/admin/users/{missing}"), &admin, json!({"first_name": "X"}))).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        // An administrator cannot lock themselves out through the admin API.
        let res =
            call(&app, put(&format!("/api/v1/admin/users/{admin_id}"), &admin, json!({"is_active": false}))).await;
        assert_eq!(res.error(), ("AUTH_007".into(), "Cannot deactivate your own account".into()));
        let res = call(&app, delete(&format!("/api/v1/admin/users/{admin_id}"), &admin)).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::FORBIDDEN, ("AUTH_007".into(), "Cannot delete your own account".into()))
        );
        let res = call(&app, post_as(&format!("/api/v1/admin/users/{admin_id}/deactivate"), &admin, json!({}))).await;
        assert_eq!(res.error(), ("AUTH_007".into(), "Cannot deactivate your own account".into()));
        assert_eq!(call(&app, get("/api/v1/users/me", &admin)).await.status, StatusCode::OK);
    }
}

/// Deactivation ends every session; reactivation lets the user log in again but brings none back.
#[actix_web::test]
async fn deactivate_ends_sessions_and_reactivate_does_not_restore_them() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, _) = superuser(&w, &app, "root@example.com").await;
        let (access, refresh, id) = user(&app, "de@example.com").await;
        let (other, _) = login(&app, "de@example.com", CHROME_MAC).await;
        let res = call(&app, post_as(&format!("/api/v1/admin/users/{id}/deactivate"), &admin, json!({}))).await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User de@example.com has been deactivated"}),
            "{}",
            w.db.label
        );
        let res =
            call(&app, post("/api/v1/auth/login", json!({"email": "de@example.com", "password": PASSWORD}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let res = call(&app, post_as(&format!("/api/v1/admin/users/{id}/activate"), &admin, json!({}))).await;
        assert_eq!(res.body, json!({"success": true, "message": "User de@example.com has been activated"}));
        for token in [&access, &other] {
            let res = call(&app, get("/api/v1/users/me", token)).await;
            assert_eq!(res.error(), ("AUTH_006".into(), "Session has been revoked".into()), "{}", w.db.label);
        }
        let res = call(&app, post("/api/v1/auth/refresh", json!({"refresh_token": refresh}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        let (fresh, _) = login(&app, "de@example.com", CHROME_MAC).await;
        assert_eq!(call(&app, get("/api/v1/users/me", &fresh)).await.status, StatusCode::OK);
        let missing = uuid::Uuid::new_v4();
        for action in ["activate", "deactivate"] {
            let res = call(&app, post_as(&format!("/api/v1/admin/users/{missing}/{action}"), &admin, json!({}))).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{action}");
        }
    }
}

#[actix_web::test]
async fn bulk_actions_skip_the_caller_and_end_sessions() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, admin_id) = superuser(&w, &app, "root@example.com").await;
        let (a_token, _, a) = user(&app, "a@example.com").await;
        let (_, _, b) = user(&app, "b@example.com").await;
        let missing = uuid::Uuid::new_v4().to_string();
        let bulk = |action: &str, ids: Vec<&str>| {
            post_as("/api/v1/admin/users/bulk-action", &admin, json!({"action": action, "user_ids": ids}))
        };

        let res = call(&app, bulk("deactivate", vec![&a, &b, &admin_id, &missing])).await;
        assert_eq!(
            res.body,
            json!({"success": false, "affected_count": 2, "failed_count": 2, "message": "Bulk deactivate: 2 users affected, 2 skipped", "failed_ids": null}),
            "{}",
            w.db.label
        );
        assert_eq!(call(&app, get("/api/v1/users/me", &a_token)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, get("/api/v1/users/me", &admin)).await.status, StatusCode::OK, "the caller is skipped");
        let res = call(&app, bulk("activate", vec![&a, &b])).await;
        assert_eq!((res.body["success"].as_bool(), res.body["affected_count"].as_i64()), (Some(true), Some(2)));
        let res = call(&app, bulk("delete", vec![&a, &admin_id])).await;
        assert_eq!((res.body["affected_count"].as_i64(), res.body["failed_count"].as_i64()), (Some(1), Some(1)));
        let res = call(&app, bulk("delete", vec![&a])).await;
        assert_eq!(res.body["affected_count"], 0, "already deleted users are skipped");
        assert_eq!(call(&app, get("/api/v1/users/me", &admin)).await.status, StatusCode::OK);

        let res = call(&app, bulk("explode", vec![&a])).await;
        assert_eq!(res.body["errors"][0]["message"], "Input should be 'activate', 'deactivate' or 'delete'");
        let res = call(&app, bulk("delete", vec![])).await;
        assert_eq!(res.body["errors"][0]["message"], "List should have at least 1 item after validation, not 0");
        let many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let res = call(&app, bulk("delete", many.iter().map(String::as_str).collect())).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = call(&app, bulk("delete", vec!["nope"])).await;
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
    for w in worlds() {
        let app = service(w.state.clone()).await;
        let (admin, admin_id) = superuser(&w, &app, "root@example.com").await;
        let (t1, _, id) = user(&app, "target@example.com").await;
        w.clock.advance(Duration::seconds(5));
        let (t2, _) = login(&app, "target@example.com", CHROME_MAC).await;

        let res = call(&app, get("/api/v1/admin/sessions", &admin)).await;
        assert_eq!(res.body["pagination"]["total"], 3, "{}: {:?}", w.db.label, res.body);
        let first = &res.body["data"][0];
        assert_eq!(
            (first["user_email"].as_str(), first["user_full_name"].as_str(), first["is_active"].as_bool()),
            (Some("target@example.com"), Some("Ada"), Some(true))
        );
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 13, "{keys:?}");

        let res = call(&app, get(&format!("/api/v1/admin/users/{id}/sessions"), &admin)).await;
        assert_eq!(res.body["pagination"]["total"], 2);
        let newest = res.body["data"][0]["id"].as_str().unwrap().to_owned();
        let missing = uuid::Uuid::new_v4();
        let res = call(&app, get(&format!("/api/v1/admin/users/{missing}/sessions"), &admin)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        w.clock.advance(Duration::seconds(5));
        let res = call(&app, delete(&format!("/api/v1/admin/sessions/{newest}"), &admin)).await;
        assert_eq!((res.status, res.body["success"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", res.body);
        assert_eq!(call(&app, get("/api/v1/users/me", &t2)).await.status, StatusCode::UNAUTHORIZED);
        let res = call(&app, delete(&format!("/api/v1/admin/sessions/{missing}"), &admin)).await;
        assert_eq!(res.error(), ("SYS_002".into(), format!("Session {missing} not found")));

        // The target sees the revocation in their own history.
        let history = call(&app, get("/api/v1/sessions/me/history", &t1)).await;
        let kinds: Vec<&str> =
            history.body["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"session_revoked"), "{}: {kinds:?}", w.db.label);

        let res = call(&app, post_as(&format!("/api/v1/admin/users/{id}/revoke-sessions"), &admin, json!({}))).await;
        assert_eq!(res.body, json!({"success": true, "message": "Revoked 1 sessions for target@example.com"}));
        assert_eq!(call(&app, get("/api/v1/users/me", &t1)).await.status, StatusCode::UNAUTHORIZED);
        let res = call(&app, get("/api/v1/admin/sessions?is_active=false", &admin)).await;
        assert_eq!(res.body["pagination"]["total"], 3, "all sessions, ended ones included");
        let res = call(&app, get("/api/v1/admin/sessions", &admin)).await;
        assert_eq!(res.body["pagination"]["total"], 1, "only the admin's own");

        // Every admin action above is in the audit trail with the acting administrator.
        let admin_uuid: uuid::Uuid = admin_id.parse().unwrap();
        let target: uuid::Uuid = id.parse().unwrap();
        let trail = events::list_by_actor(&mut w.db.db.conn().unwrap(), admin_uuid, Window::page(1, 50)).unwrap();
        assert_eq!(trail.total, 2, "{}: {:?}", w.db.label, trail.items);
        assert!(trail.items.iter().all(|e| e.user_id.map(|u| u.0) == Some(target) && e.kind == "session_revoked"));
        assert!(trail.items.iter().any(|e| e.session_id.map(|s| s.0.to_string()) == Some(newest.clone())));
    }
}

#[actix_web::test]
async fn stats_come_from_the_database() {
    for w in worlds() {
        let app = service(w.state.clone()).await;
        superuser(&w, &app, "root@example.com").await;
        let (_, _, gone) = user(&app, "gone@example.com").await;
        let (_, _, off) = user(&app, "off@example.com").await;
        w.clock.advance(Duration::days(1));
        let (admin, _) = login(&app, "root@example.com", CHROME_MAC).await;
        user(&app, "today@example.com").await;
        call(&app, delete(&format!("/api/v1/admin/users/{gone}"), &admin)).await;
        call(&app, post_as(&format!("/api/v1/admin/users/{off}/deactivate"), &admin, json!({}))).await;

        let res = call(&app, get("/api/v1/admin/stats", &admin)).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", w.db.label, res.body);
        let growth = res.body["user_growth"].as_array().unwrap();
        assert_eq!(growth.len(), 30);
        // t0 is 2026-11-28; the clock now says the 29th. Every account row counts, the soft-deleted one too
        // (as in the reference: "counts include soft-deleted users"), so the charts agree with each other.
        assert_eq!(growth[29], json!({"date": "Nov 29", "total_users": 4, "active_users": 3}), "{}", w.db.label);
        assert_eq!(growth[28], json!({"date": "Nov 28", "total_users": 3, "active_users": 2}));
        assert_eq!(growth[0]["total_users"], 0);
        let activity = res.body["registration_activity"].as_array().unwrap();
        assert_eq!(activity.len(), 14);
        assert_eq!(activity[13], json!({"date": "Nov 29", "registrations": 1}));
        assert_eq!(activity[12], json!({"date": "Nov 28", "registrations": 3}), "deleted accounts still registered");
        assert_eq!(res.body["user_status"], json!([{"name": "Active", "value": 3}, {"name": "Inactive", "value": 1}]));
        let registered: i64 = activity.iter().map(|d| d["registrations"].as_i64().unwrap()).sum();
        assert_eq!(growth[29]["total_users"], registered, "{}: the charts agree", w.db.label);
        assert_eq!(res.body["organization_distribution"], json!([]));
    }
}
