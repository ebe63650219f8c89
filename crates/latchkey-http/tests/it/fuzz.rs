//! Regressions found by `cargo xtask fuzz-api` (schemathesis against the served OpenAPI document): each
//! test names what the fuzzer saw.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use latchkey_testkit::app::CHROME_MAC;
use latchkey_testkit::{PASSWORD, TestApp};

/// schemathesis `unsupported_method`: a 405 must say which methods the resource serves (RFC 9110
/// §15.5.6), in the envelope and with the security headers like every other error. OPTIONS (without a
/// CORS preflight's headers) is an unsupported method like any other, and its `Allow` lists exactly the
/// documented methods (`allow_header_conformance`).
#[actix_web::test]
async fn a_405_lists_the_served_methods_in_allow() {
    let id = "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d";
    for app in TestApp::all().await {
        for (method, path, allow) in [
            (Method::POST, "/health".to_owned(), "GET"),
            (Method::HEAD, "/health".to_owned(), "GET"),
            (Method::DELETE, "/api/v1/users/me".to_owned(), "GET, PATCH"),
            (Method::OPTIONS, format!("/api/v1/sessions/{id}"), "DELETE, PATCH"),
            (Method::GET, "/api/v1/auth/login".to_owned(), "POST"),
            (Method::POST, format!("/api/v1/admin/users/{id}"), "GET, PUT, DELETE"),
            (Method::PUT, "/docs".to_owned(), "GET"),
        ] {
            let res = app.request(TestRequest::default().method(method.clone()).uri(&path)).await;
            assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(res.headers.get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{method} {path}");
            assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff", "{method} {path}");
            if method != Method::HEAD {
                assert_eq!(res.error().0, "SYS_003", "{method} {path}");
            }
        }
    }
}

/// schemathesis `positive_data_acceptance`: the document lets a body carry fields it does not name (the
/// reference ignores them), and the fuzzer sends such fields with control characters in their keys and
/// values. They were refused with 422; now an unknown field is ignored whatever it holds, while the known
/// fields keep the control-character rule.
#[actix_web::test]
async fn unknown_body_fields_are_ignored_whatever_they_hold() {
    for app in TestApp::all().await {
        let label = app.db.label;
        let body = json!({
            "email": "extra@example.com", "password": PASSWORD, "first_name": "Ada",
            "\u{1}key": "x", "note": "a\u{0}b", "nested": {"k\u{7}": ["\u{1b}"]},
        });
        let res = app.post("/api/v1/auth/register").json(body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{label}: {:?}", res.body);
        let body = json!({"email": "extra@example.com", "password": PASSWORD, "\u{14}": -1});
        let res = app.post("/api/v1/auth/login").json(body).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        let token = res.body["access_token"].as_str().unwrap().to_owned();
        let res = app.patch("/api/v1/users/me").bearer(&token).json(json!({"\r": 1, "last_name": "Lovelace"})).await;
        assert_eq!((res.status, &res.body["last_name"]), (StatusCode::OK, &json!("Lovelace")), "{label}");

        // The known fields are still checked, and the unknown ones are not reported.
        let body = json!({"first_name": "A\u{0}da", "\u{1}": "\u{0}"});
        let res = app.patch("/api/v1/users/me").bearer(&token).json(body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}");
        assert_eq!(res.body["errors"].as_array().unwrap().len(), 1, "{label}: {:?}", res.body);
        assert_eq!(res.body["errors"][0]["field"], "first_name", "{label}");
    }
}

/// The `page` of every list is an int32 in the document (1..2147483647) and the server agrees: past it is
/// a 422 naming `page` (it was a 200 echoing a wrapped value before the last session's fix), the largest
/// page answers an empty page that says which page it is.
#[actix_web::test]
async fn page_is_bounded_as_the_document_says() {
    for app in TestApp::all().await {
        let label = app.db.label;
        app.register("pages@example.com").await;
        let (token, _) = app.login("pages@example.com", CHROME_MAC).await;
        for page in ["2147483648", "9223372036854775807", "0"] {
            let res = app.get(&format!("/api/v1/sessions/me/history?page={page}")).bearer(&token).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: page={page}");
            assert_eq!(res.body["errors"][0]["field"], "page", "{label}: page={page}");
        }
        let res = app.get("/api/v1/sessions/me/history?page=2147483647").bearer(&token).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        assert_eq!(res.body["pagination"]["page"], 2_147_483_647_i64, "{label}");
        assert_eq!(res.body["data"], json!([]), "{label}");
    }
}

/// schemathesis `positive_data_acceptance` and `negative_data_rejection`: what the server enforces is stated
/// in the document — lengths, patterns, enums, and which fields of a partial update may not be null.
#[test]
fn the_document_states_what_the_server_enforces() {
    let doc: Value = serde_json::from_str(latchkey_http::routes::docs::json()).unwrap();
    let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
    let update = schema("UserUpdate");
    assert_eq!(update["first_name"]["type"], "string", "not nullable");
    assert_eq!(update["first_name"]["maxLength"], 100);
    assert_eq!(update["is_active"]["type"], "boolean", "not nullable");
    assert_eq!(update["password"]["type"], "string", "not nullable");
    assert_eq!(update["password"]["minLength"], 12);
    assert_eq!(update["is_superuser"]["type"], "null", "only null is accepted");
    assert_eq!(update["locale"]["enum"], json!(["en", "en-GB", "en-US", "it", "it-IT", null]));
    assert!(update["phone_number"]["pattern"].as_str().unwrap().contains("{8,14}"));
    for name in ["UserCreate", "AdminUserCreate"] {
        assert_eq!(schema(name)["password"]["minLength"], 12, "{name}");
        assert_eq!(schema(name)["email"]["format"], "email", "{name}");
    }
    assert_eq!(schema("PasswordChange")["new_password"]["minLength"], 12);
    assert_eq!(schema("PasswordResetConfirm")["new_password"]["minLength"], 12);
    assert_eq!(schema("RefreshTokenRequest")["refresh_token"]["minLength"], 10);
    assert_eq!(schema("OAuth2PasswordRequestForm")["grant_type"]["type"], "string");
    assert_eq!(schema("OAuth2PasswordRequestForm")["grant_type"]["pattern"], "^password$");
    assert_eq!(schema("BulkUserAction")["action"]["enum"], json!(["activate", "deactivate", "delete"]));
    assert_eq!(schema("AddMemberRequest")["role"]["enum"], json!(["owner", "admin", "member", "guest"]));
    for name in ["OrganizationCreate", "OrganizationUpdate"] {
        let org = schema(name);
        assert_eq!(org["slug"]["type"], "string", "{name}");
        assert_eq!(org["slug"]["pattern"], "^[a-z0-9]+(-[a-z0-9]+)*$", "{name}");
        assert_eq!((org["name"]["minLength"].clone(), org["name"]["maxLength"].clone()), (json!(1), json!(255)));
        assert_eq!(org["is_active"]["type"], "boolean", "{name}");
    }
    // Every other request string says it holds no control character.
    let single_line = latchkey_http::openapi::SINGLE_LINE;
    assert_eq!(schema("LoginRequest")["password"]["pattern"], single_line);
    assert_eq!(schema("UserUpdate")["current_password"]["pattern"], single_line);
    let search = doc["paths"]["/api/v1/admin/users"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "search")
        .unwrap()
        .clone();
    assert_eq!(search["schema"]["pattern"], single_line);
    let page = doc["paths"]["/api/v1/users"]["get"]["parameters"][0].clone();
    assert_eq!((page["name"].clone(), page["schema"]["maximum"].clone()), (json!("page"), json!(2_147_483_647)));
}
