//! `/api/v1/organizations` and `/api/v1/admin/organizations…`: the role rules, the admin routes, lists,
//! search and the audit trail.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use latchkey_testkit::TestApp;
use latchkey_testkit::app::{Account, Client, Res};
use serde_json::{Value, json};

const ADMIN_ORGS: &str = "/api/v1/admin/organizations";

async fn create_org(app: &Client, root: &str, name: &str, slug: &str) -> Value {
    let res = app.post(ADMIN_ORGS).bearer(root).json(json!({"name": name, "slug": slug})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    res.body
}

async fn add_member(app: &Client, root: &str, org: &str, user_id: &str, role: &str) -> Res {
    app.post(&format!("{ADMIN_ORGS}/{org}/members")).bearer(root).json(json!({"user_id": user_id, "role": role})).await
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn err(res: &Res) -> (StatusCode, String, String, Value) {
    let (code, message) = res.error();
    (res.status, code, message, res.body["errors"][0]["field"].clone())
}

#[actix_web::test]
async fn admin_creates_reads_updates_and_deletes_organizations() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let label = app.db.label;

        let res = app
            .post(ADMIN_ORGS)
            .bearer(&root)
            .json(
                json!({"name": "  Acme Corp  ", "slug": "acme", "description": "Rockets", "settings": {"plan": "pro"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{label}: {:?}", res.body);
        let org = res.body.clone();
        assert_eq!(
            keys(&org),
            ["name", "slug", "description", "is_active", "settings", "id", "created_at", "updated_at", "member_count"]
        );
        assert_eq!(
            (
                &org["name"],
                &org["slug"],
                &org["description"],
                &org["is_active"],
                &org["settings"],
                &org["member_count"]
            ),
            (&json!("Acme Corp"), &json!("acme"), &json!("Rockets"), &json!(true), &json!({"plan": "pro"}), &json!(0))
        );
        let id = org["id"].as_str().unwrap().to_owned();
        let minimal = create_org(&app, &root, "Min", "min").await;
        assert_eq!((&minimal["settings"], &minimal["description"]), (&json!({}), &Value::Null), "{label}");

        // A taken slug is 409 SYS_005.
        let res = app.post(ADMIN_ORGS).bearer(&root).json(json!({"name": "Other", "slug": "acme"})).await;
        assert_eq!(
            err(&res),
            (
                StatusCode::CONFLICT,
                "SYS_005".into(),
                "Organization with slug 'acme' already exists".into(),
                Value::Null
            )
        );

        // Validation: every rule with pydantic's wording.
        for (body, field, message) in [
            (json!({"name": "X"}), "slug", "Field required"),
            (json!({"slug": "x"}), "name", "Field required"),
            (
                json!({"name": "X", "slug": "Acme"}),
                "slug",
                "Value error, Slug must contain only lowercase letters, numbers, and hyphens",
            ),
            (json!({"name": "X", "slug": "-acme"}), "slug", "Value error, Slug cannot start or end with a hyphen"),
            (json!({"name": "X", "slug": "a--b"}), "slug", "Value error, Slug cannot contain consecutive hyphens"),
            (json!({"name": "X", "slug": ""}), "slug", "String should have at least 1 character"),
            (json!({"name": "   ", "slug": "x"}), "name", "Value error, Organization name cannot be empty"),
            (json!({"name": "X", "slug": "x", "is_active": null}), "is_active", "Input should be a valid boolean"),
            (json!({"name": "X", "slug": "x", "settings": [1]}), "settings", "Input should be a valid dictionary"),
        ] {
            let res = app.post(ADMIN_ORGS).bearer(&root).json(body.clone()).await;
            assert_eq!(
                err(&res),
                (StatusCode::UNPROCESSABLE_ENTITY, "VAL_001".into(), message.into(), json!(field)),
                "{label}: {body}"
            );
        }

        let res = app.get(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).await;
        assert_eq!((res.status, &res.body), (StatusCode::OK, &org), "{label}");
        let unknown = uuid::Uuid::new_v4();
        let res = app.get(&format!("{ADMIN_ORGS}/{unknown}")).bearer(&root).await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), format!("Organization {unknown} not found"), Value::Null)
        );
        let res = app.get(&format!("{ADMIN_ORGS}/not-a-uuid")).bearer(&root).await;
        assert_eq!((res.status, &res.body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("org_id")));

        // Update is partial; null clears a nullable field and is refused for a required one.
        app.clock.advance(chrono::Duration::seconds(5));
        let res = app
            .put(&format!("{ADMIN_ORGS}/{id}"))
            .bearer(&root)
            .json(json!({"description": null, "is_active": false}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        assert_eq!(
            (&res.body["name"], &res.body["description"], &res.body["is_active"]),
            (&json!("Acme Corp"), &Value::Null, &json!(false))
        );
        assert_ne!(res.body["updated_at"], org["updated_at"]);
        assert_eq!(res.body["created_at"], org["created_at"]);
        let res = app.put(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).json(json!({"name": null})).await;
        assert_eq!((res.status, &res.body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")));
        let res = app.put(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).json(json!({"slug": "min"})).await;
        assert_eq!(
            err(&res),
            (StatusCode::CONFLICT, "SYS_005".into(), "Organization with slug 'min' already exists".into(), Value::Null),
            "{label}"
        );
        let res = app.put(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).json(json!({"slug": "acme-2"})).await;
        assert_eq!((res.status, &res.body["slug"]), (StatusCode::OK, &json!("acme-2")));
        let res = app.put(&format!("{ADMIN_ORGS}/{unknown}")).bearer(&root).json(json!({"name": "Y"})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        // Hard delete: gone, and its memberships with it.
        let uid = app.user("member@example.com").await.id;
        assert_eq!(add_member(&app, &root, &id, &uid, "member").await.status, StatusCode::OK);
        let res = app.delete(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).await;
        assert_eq!(res.body, json!({"success": true, "message": "Organization Acme Corp has been deleted"}), "{label}");
        assert_eq!(app.get(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.delete(&format!("{ADMIN_ORGS}/{id}")).bearer(&root).await.status, StatusCode::NOT_FOUND);
        let res = app.get(&format!("{ADMIN_ORGS}/{id}/members")).bearer(&root).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
}

#[actix_web::test]
async fn admin_lists_page_filter_and_search() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let label = app.db.label;

        let res = app.get(ADMIN_ORGS).bearer(&root).await;
        assert_eq!(
            res.body,
            json!({"data": [], "pagination": {"total": 0, "page": 1, "page_size": 0, "total_pages": 0, "has_next": false, "has_prev": false}}),
            "{label}"
        );

        let names = ["Ärzte Ohne Grenzen", "Beta Labs", "Gamma", "Delta 100%", "Epsilon"];
        let mut ids = Vec::new();
        for (i, name) in names.iter().enumerate() {
            app.clock.advance(chrono::Duration::seconds(1));
            ids.push(create_org(&app, &root, name, &format!("org-{i}")).await["id"].as_str().unwrap().to_owned());
        }
        let res = app
            .put(&format!("{ADMIN_ORGS}/{}", ids[2]))
            .bearer(&root)
            .json(json!({"is_active": false, "description": "the BETA twin"}))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let a = app.user("a@example.com").await.id;
        let b = app.user("b@example.com").await.id;
        add_member(&app, &root, &ids[4], &a, "owner").await;
        add_member(&app, &root, &ids[4], &b, "guest").await;
        add_member(&app, &root, &ids[3], &a, "member").await;

        let list = |q: &str| app.get(&format!("{ADMIN_ORGS}?{q}")).bearer(&root);
        let names_of = |res: &Res| -> Vec<String> {
            res.body["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
        };

        // Newest first; member counts per row.
        let res = list("page=1&limit=2").await;
        assert_eq!(names_of(&res), ["Epsilon", "Delta 100%"], "{label}");
        assert_eq!(
            (&res.body["data"][0]["member_count"], &res.body["data"][1]["member_count"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(
            res.body["pagination"],
            json!({"total": 5, "page": 1, "page_size": 2, "total_pages": 3, "has_next": true, "has_prev": false})
        );
        let res = list("page=3&limit=2").await;
        assert_eq!(names_of(&res), ["Ärzte Ohne Grenzen"]);
        assert_eq!(
            res.body["pagination"],
            json!({"total": 5, "page": 3, "page_size": 1, "total_pages": 3, "has_next": false, "has_prev": true})
        );
        let res = list("page=4&limit=2").await;
        assert_eq!(
            (
                res.body["data"].clone(),
                res.body["pagination"]["has_prev"].clone(),
                res.body["pagination"]["total"].clone()
            ),
            (json!([]), json!(true), json!(5))
        );
        assert_eq!(list("limit=100").await.body["pagination"]["page_size"], 5);
        let res = list("limit=101&page=0").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&Value> = res.body["errors"].as_array().unwrap().iter().map(|e| &e["field"]).collect();
        assert_eq!(fields, [&json!("page"), &json!("limit")]);

        // Filters and case-insensitive search over name, slug and description.
        assert_eq!(names_of(&list("is_active=false").await), ["Gamma"]);
        assert_eq!(list("is_active=true").await.body["pagination"]["total"], 4);
        for (q, expected) in [
            ("search=%C3%A4RZTE", vec!["Ärzte Ohne Grenzen"]),
            ("search=BETA", vec!["Gamma", "Beta Labs"]),
            ("search=org-4", vec!["Epsilon"]),
            ("search=100%25", vec!["Delta 100%"]),
            ("search=%25", vec!["Delta 100%"]),
            ("search=beta&is_active=true", vec!["Beta Labs"]),
            ("search=zzz", vec![]),
        ] {
            assert_eq!(names_of(&list(q).await), expected, "{label}: {q}");
        }

        // Sorting: an allowed column either way; anything else is 422 naming the allowed columns.
        assert_eq!(
            names_of(&list("sort_by=name&sort_order=asc").await),
            ["Beta Labs", "Delta 100%", "Epsilon", "Gamma", "Ärzte Ohne Grenzen"],
            "{label}"
        );
        assert_eq!(names_of(&list("sort_by=created_at&sort_order=asc&limit=1").await), ["Ärzte Ohne Grenzen"]);
        let res = list("sort_by=password").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: {:?}", res.body);
        assert_eq!(res.body["errors"][0]["field"], "sort_by");
        let message = res.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("name") && message.contains("created_at"), "{message}");
        let res = list("sort_order=sideways").await;
        assert_eq!(
            (res.status, res.body["errors"][0]["message"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("Input should be 'asc' or 'desc'"))
        );
        let res = list("is_active=maybe").await;
        assert_eq!(res.body["errors"][0]["message"], "Input should be a valid boolean, unable to interpret input");
    }
}

#[actix_web::test]
async fn admin_manages_members() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let label = app.db.label;
        let org = create_org(&app, &root, "Acme", "acme").await["id"].as_str().unwrap().to_owned();
        let ada = app.user("ada@example.com").await.id;
        let bob = app.user("bob@example.com").await.id;
        let members = format!("{ADMIN_ORGS}/{org}/members");

        let res = add_member(&app, &root, &org, &ada, "owner").await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User ada@example.com added to organization Acme"}),
            "{label}"
        );
        app.clock.advance(chrono::Duration::seconds(1));
        let res = app.post(&members).bearer(&root).json(json!({"user_id": bob})).await;
        assert_eq!(res.status, StatusCode::OK, "role defaults to member: {:?}", res.body);

        let res = add_member(&app, &root, &org, &ada, "admin").await;
        assert_eq!(
            err(&res),
            (
                StatusCode::CONFLICT,
                "USER_002".into(),
                "User is already a member of this organization".into(),
                json!("user_id")
            ),
            "{label}"
        );
        let res = add_member(&app, &root, &org, &ada, "boss").await;
        assert_eq!(
            err(&res),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "VAL_001".into(),
                "Input should be 'owner', 'admin', 'member' or 'guest'".into(),
                json!("role")
            )
        );
        let res = app.post(&members).bearer(&root).json(json!({"user_id": "nope"})).await;
        assert_eq!(
            (res.status, &res.body["errors"][0]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("user_id"))
        );
        let res = app.post(&members).bearer(&root).json(json!({"role": "admin"})).await;
        assert_eq!(
            err(&res),
            (StatusCode::UNPROCESSABLE_ENTITY, "VAL_001".into(), "Field required".into(), json!("user_id"))
        );
        let nobody = uuid::Uuid::new_v4();
        let res = add_member(&app, &root, &org, &nobody.to_string(), "member").await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), format!("User {nobody} not found"), Value::Null)
        );
        let res = add_member(&app, &root, &nobody.to_string(), &ada, "member").await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), format!("Organization {nobody} not found"), Value::Null)
        );

        // The list: newest membership first, the reference's fields in its order.
        let res = app.get(&members).bearer(&root).await;
        assert_eq!(res.body["pagination"]["total"], 2, "{label}");
        let first = &res.body["data"][0];
        assert_eq!(keys(first), ["user_id", "email", "first_name", "last_name", "role", "is_active", "joined_at"]);
        assert_eq!(
            (&first["email"], &first["role"], &first["is_active"]),
            (&json!("bob@example.com"), &json!("member"), &json!(true))
        );
        assert_eq!(res.body["data"][1]["role"], "owner");
        let org_view = app.get(&format!("{ADMIN_ORGS}/{org}")).bearer(&root).await;
        assert_eq!(org_view.body["member_count"], 2);

        // Soft removal; removing again is fine; never a member is 404.
        let res = app.delete(&format!("{members}/{bob}")).bearer(&root).await;
        assert_eq!(
            res.body,
            json!({"success": true, "message": "User bob@example.com removed from organization Acme"}),
            "{label}"
        );
        assert_eq!(app.delete(&format!("{members}/{bob}")).bearer(&root).await.status, StatusCode::OK);
        let carl = app.user("carl@example.com").await.id;
        let res = app.delete(&format!("{members}/{carl}")).bearer(&root).await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), "User is not a member of this organization".into(), Value::Null)
        );
        let res = app.delete(&format!("{members}/{nobody}")).bearer(&root).await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), format!("User {nobody} not found"), Value::Null)
        );
        let res = app.delete(&format!("{ADMIN_ORGS}/{nobody}/members/{bob}")).bearer(&root).await;
        assert_eq!(err(&res).2, format!("Organization {nobody} not found"));

        let active = app.get(&members).bearer(&root).await;
        assert_eq!(active.body["data"].as_array().unwrap().len(), 1);
        let removed = app.get(&format!("{members}?is_active=false")).bearer(&root).await;
        assert_eq!(
            (&removed.body["data"][0]["email"], &removed.body["data"][0]["is_active"]),
            (&json!("bob@example.com"), &json!(false))
        );
        assert_eq!(app.get(&format!("{ADMIN_ORGS}/{org}")).bearer(&root).await.body["member_count"], 1);

        // Re-adding a removed member brings the membership back with the new role.
        let res = add_member(&app, &root, &org, &bob, "admin").await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        let res = app.get(&members).bearer(&root).await;
        let bob_row = res.body["data"].as_array().unwrap().iter().find(|m| m["user_id"] == json!(bob)).unwrap().clone();
        assert_eq!(bob_row["role"], "admin");
    }
}

#[actix_web::test]
async fn every_admin_organization_route_refuses_a_normal_user() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let org = create_org(&app, &root, "Acme", "acme").await["id"].as_str().unwrap().to_owned();
        let Account { id: uid, access: token, .. } = app.user("plain@example.com").await;
        let routes: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", ADMIN_ORGS.to_owned(), None),
            ("POST", ADMIN_ORGS.to_owned(), Some(json!({"name": "X", "slug": "x"}))),
            ("GET", format!("{ADMIN_ORGS}/{org}"), None),
            ("PUT", format!("{ADMIN_ORGS}/{org}"), Some(json!({"name": "X"}))),
            ("DELETE", format!("{ADMIN_ORGS}/{org}"), None),
            ("GET", format!("{ADMIN_ORGS}/{org}/members"), None),
            ("POST", format!("{ADMIN_ORGS}/{org}/members"), Some(json!({"user_id": uid}))),
            ("DELETE", format!("{ADMIN_ORGS}/{org}/members/{uid}"), None),
        ];
        for (method, path, body) in routes {
            let make = |token: Option<&str>| {
                let mut req = app.request(TestRequest::default().method(method.parse().unwrap()).uri(&path));
                if let Some(body) = &body {
                    req = req.json(body.clone());
                }
                match token {
                    Some(t) => req.bearer(t),
                    None => req,
                }
            };
            let res = make(Some(&token)).await;
            assert_eq!(
                (res.status, res.error()),
                (StatusCode::FORBIDDEN, ("AUTH_004".into(), "Superuser privileges required".into())),
                "{}: {method} {path}",
                app.db.label
            );
            let res = make(None).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
        // Nothing changed.
        let res = app.get(&format!("{ADMIN_ORGS}/{org}")).bearer(&root).await;
        assert_eq!((res.body["name"].clone(), res.body["member_count"].clone()), (json!("Acme"), json!(0)));
    }
}

/// Owner / admin / member / guest / removed member / non-member / superuser × read / members / update.
#[actix_web::test]
async fn organization_role_matrix() {
    for app in TestApp::all().await {
        let label = app.db.label;
        let root = app.superuser("root@example.com").await.access;
        let org = create_org(&app, &root, "Acme", "acme").await["id"].as_str().unwrap().to_owned();
        create_org(&app, &root, "Taken", "taken").await;
        let mut tokens = Vec::new();
        for role in ["owner", "admin", "member", "guest", "removed", "outsider"] {
            let Account { id, access: token, .. } = app.user(&format!("{role}@example.com")).await;
            match role {
                "outsider" => {}
                "removed" => {
                    add_member(&app, &root, &org, &id, "admin").await;
                    app.delete(&format!("{ADMIN_ORGS}/{org}/members/{id}")).bearer(&root).await;
                }
                _ => assert_eq!(add_member(&app, &root, &org, &id, role).await.status, StatusCode::OK),
            }
            tokens.push((role, token));
        }
        tokens.push(("superuser", root.clone()));
        let path = format!("/api/v1/organizations/{org}");

        for (role, token) in &tokens {
            let (reads, manages) = match *role {
                "owner" | "admin" | "superuser" => (true, true),
                "member" | "guest" => (true, false),
                _ => (false, false),
            };
            let res = app.get(&path).bearer(token).await;
            if reads {
                assert_eq!((res.status, &res.body["slug"]), (StatusCode::OK, &json!("acme")), "{label}: {role} reads");
                assert_eq!(res.body["member_count"], 4, "{label}: {role}");
            } else {
                assert_eq!(
                    (res.status, res.error()),
                    (StatusCode::FORBIDDEN, ("AUTH_004".into(), "Not a member of this organization".into())),
                    "{label}: {role} reads"
                );
            }
            let res = app.get(&format!("{path}/members")).bearer(token).await;
            if reads {
                assert_eq!(
                    (res.status, &res.body["pagination"]["total"]),
                    (StatusCode::OK, &json!(4)),
                    "{label}: {role}"
                );
            } else {
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{label}: {role} lists members");
            }
            let res = app.put(&path).bearer(token).json(json!({"description": format!("set by {role}")})).await;
            if manages {
                assert_eq!(
                    (res.status, &res.body["description"]),
                    (StatusCode::OK, &json!(format!("set by {role}"))),
                    "{label}: {role}"
                );
            } else {
                let message = if reads {
                    "Requires role owner or admin in this organization"
                } else {
                    "Not a member of this organization"
                };
                assert_eq!(
                    (res.status, res.error()),
                    (StatusCode::FORBIDDEN, ("AUTH_004".into(), message.into())),
                    "{label}: {role} updates"
                );
            }
        }

        // Managers get the slug rules and the 409; the check comes before existence for non-superusers.
        let owner = &tokens[0].1;
        let res = app.put(&path).bearer(owner).json(json!({"slug": "taken"})).await;
        assert_eq!(
            (res.status, res.error()),
            (StatusCode::CONFLICT, ("SYS_005".into(), "Organization with slug 'taken' already exists".into())),
            "{label}"
        );
        let res = app.put(&path).bearer(owner).json(json!({"slug": "Bad Slug"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = uuid::Uuid::new_v4();
        let res = app.get(&format!("/api/v1/organizations/{unknown}")).bearer(owner).await;
        assert_eq!(res.error().1, "Not a member of this organization");
        let res = app.get(&format!("/api/v1/organizations/{unknown}")).bearer(&root).await;
        assert_eq!(
            err(&res),
            (StatusCode::NOT_FOUND, "SYS_002".into(), format!("Organization {unknown} not found"), Value::Null)
        );
        let res = app.put(&format!("/api/v1/organizations/{unknown}")).bearer(&root).json(json!({"name": "X"})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.get("/api/v1/organizations/not-a-uuid").bearer(owner).await;
        assert_eq!(
            (res.status, &res.body["errors"][0]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("organization_id"))
        );
        let res = app.get(&path).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn my_organizations() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let Account { id: me, access: token, .. } = app.user("me@example.com").await;
        let other = app.user("other@example.com").await.id;
        let a = create_org(&app, &root, "Alpha", "alpha").await["id"].as_str().unwrap().to_owned();
        let b = create_org(&app, &root, "Beta", "beta").await["id"].as_str().unwrap().to_owned();
        create_org(&app, &root, "Gamma", "gamma").await;
        add_member(&app, &root, &a, &me, "guest").await;
        add_member(&app, &root, &a, &other, "owner").await;
        add_member(&app, &root, &b, &me, "member").await;
        app.put(&format!("{ADMIN_ORGS}/{b}")).bearer(&root).json(json!({"is_active": false})).await;

        let res = app.get("/api/v1/organizations/me").bearer(&token).await;
        assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
        let list = res.body.as_array().unwrap();
        let summary: Vec<(&str, &Value, &Value)> =
            list.iter().map(|o| (o["slug"].as_str().unwrap(), &o["member_count"], &o["is_active"])).collect();
        assert_eq!(
            summary,
            [("alpha", &json!(2), &json!(true)), ("beta", &json!(1), &json!(false))],
            "{}",
            app.db.label
        );

        let secret = json!({"description": "Q3 plans", "settings": {"vpn": "10.0.0.1"}});
        assert_eq!(app.put(&format!("{ADMIN_ORGS}/{a}")).bearer(&root).json(secret).await.status, StatusCode::OK);
        app.delete(&format!("{ADMIN_ORGS}/{a}/members/{me}")).bearer(&root).await;
        let res = app.get("/api/v1/organizations/me?is_active=false").bearer(&token).await;
        let slugs: Vec<&Value> = res.body.as_array().unwrap().iter().map(|o| &o["slug"]).collect();
        assert_eq!(slugs, [&json!("alpha")]);
        // A former member keeps what identifies the organization, not what it writes for its members.
        let former = &res.body[0];
        assert_eq!((&former["name"], &former["member_count"]), (&json!("Alpha"), &json!(1)), "{}", app.db.label);
        assert_eq!((&former["settings"], &former["description"]), (&json!({}), &Value::Null), "{}", app.db.label);
        assert_eq!(app.get("/api/v1/organizations/me").bearer(&token).await.body.as_array().unwrap().len(), 1);
        let res = app.get("/api/v1/organizations/me").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}

/// Only a superuser changes an organization's `is_active`: an owner cannot undo a suspension (403 `AUTH_004`),
/// and nothing is written.
#[actix_web::test]
async fn only_a_superuser_suspends_or_restores_an_organization() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let Account { id: owner, access: token, .. } = app.user("owner@example.com").await;
        let org = create_org(&app, &root, "Acme", "acme").await["id"].as_str().unwrap().to_owned();
        add_member(&app, &root, &org, &owner, "owner").await;
        let path = format!("/api/v1/organizations/{org}");
        assert_eq!(app.put(&path).bearer(&root).json(json!({"is_active": false})).await.status, StatusCode::OK);
        for is_active in [true, false] {
            let res = app.put(&path).bearer(&token).json(json!({"is_active": is_active, "name": "Renamed"})).await;
            assert_eq!(
                (res.status, res.error()),
                (
                    StatusCode::FORBIDDEN,
                    ("AUTH_004".into(), "Only a superuser can activate or deactivate an organization".into())
                ),
                "{}",
                app.db.label
            );
        }
        let now = app.get(&format!("{ADMIN_ORGS}/{org}")).bearer(&root).await;
        assert_eq!((&now.body["is_active"], &now.body["name"]), (&json!(false), &json!("Acme")), "{}", app.db.label);
        // The owner still manages everything else.
        assert_eq!(app.put(&path).bearer(&token).json(json!({"name": "Renamed"})).await.status, StatusCode::OK);
        assert_eq!(app.put(&path).bearer(&root).json(json!({"is_active": true})).await.status, StatusCode::OK);
    }
}

/// What an organization stores for its members is bounded like a user's preferences: `settings` at most
/// 16 KiB of JSON and 8 levels, `description` at most 10,000 characters; over it 422 and nothing stored.
#[actix_web::test]
async fn organization_settings_and_description_are_bounded() {
    for app in TestApp::all().await {
        let root = app.superuser("root@example.com").await.access;
        let Account { id: owner, access: token, .. } = app.user("owner@example.com").await;
        let org = create_org(&app, &root, "Acme", "acme").await["id"].as_str().unwrap().to_owned();
        add_member(&app, &root, &org, &owner, "owner").await;
        let deep = (0..9).fold(json!(1), |inner, _| json!({"a": inner}));
        let big = json!({"blob": "x".repeat(17 * 1024)});
        let long = "d".repeat(10_001);
        for (path, token) in [(format!("/api/v1/organizations/{org}"), &token), (format!("{ADMIN_ORGS}/{org}"), &root)]
        {
            for (body, field) in [
                (json!({"settings": deep.clone()}), "settings"),
                (json!({"settings": big.clone()}), "settings"),
                (json!({"description": long.clone()}), "description"),
            ] {
                let res = app.put(&path).bearer(token).json(body).await;
                assert_eq!(
                    (res.status, res.body["errors"][0]["field"].as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                    "{} {path}: {:?}",
                    app.db.label,
                    res.body
                );
            }
        }
        let res = app.post(ADMIN_ORGS).bearer(&root).json(json!({"name": "Big", "slug": "big", "settings": big})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.db.label);
        let res =
            app.post(ADMIN_ORGS).bearer(&root).json(json!({"name": "Long", "slug": "long", "description": long})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.db.label);
        // At the bounds it is stored.
        let edge = json!({"description": "d".repeat(10_000), "settings": (0..7).fold(json!(1), |inner, _| json!({"a": inner}))});
        let res = app.put(&format!("/api/v1/organizations/{org}")).bearer(&token).json(edge).await;
        assert_eq!(res.status, StatusCode::OK, "{}: {:?}", app.db.label, res.body);
    }
}
