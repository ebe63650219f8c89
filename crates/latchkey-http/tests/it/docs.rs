//! The OpenAPI document and the docs pages: served, current, and true to the routes.

use std::sync::{Arc, Mutex};

use actix_web::dev::Service as _;
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use latchkey_http::build_app;
use latchkey_testkit::app::Client;
use latchkey_testkit::{TestApp, TestDb};
use serde_json::Value;

async fn get_text(app: &Client, uri: &str) -> (StatusCode, String, String) {
    let res = app.get(uri).await;
    (res.status, res.header("content-type").to_owned(), res.text)
}

#[actix_web::test]
async fn the_document_is_served_and_docs_openapi_json_is_current() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    let served = res.body;
    assert_eq!(served["info"]["title"], "Latchkey");

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(served == committed, "docs/openapi.json is out of date: run `cargo xtask openapi`");
}

/// The framework's own pages and their assets, and the operators' `/metrics` (Prometheus text, described in
/// docs/operations.md): served, and not API operations.
const UNDOCUMENTED: &[&str] =
    &["/", "/api/v1/openapi.json", "/docs", "/docs/{file}", "/redoc", "/redoc/redoc.standalone.js", "/metrics"];

/// Every route the app serves is in the document. The served paths come from the app's own resource map
/// (every resource registered anywhere, not only through `routes::all()`), and each method is probed: a
/// method a resource does not serve answers 405.
#[actix_web::test]
async fn every_served_operation_is_documented() {
    let map = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&map);
    let test_app = TestApp::new(TestDb::sqlite()).await;
    let wrapped = build_app(test_app.state.clone()).wrap_fn(move |req, srv| {
        // actix has no public way to list its resources; its map's debug form names every pattern.
        *seen.lock().unwrap() = format!("{:?}", req.resource_map());
        srv.call(req)
    });
    let app = Client::serve(test_app.state.clone(), wrapped).await;
    app.get("/").await;
    let map = map.lock().unwrap().clone();
    let patterns: Vec<&str> = map.split("Single(\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    assert!(patterns.len() >= 20, "the resource map's patterns were not found: {map}");

    let doc: Value = serde_json::from_str(latchkey_http::routes::docs::json()).unwrap();
    let mut operations = 0;
    // The map's root node has the empty pattern.
    for pattern in patterns.iter().copied().filter(|p| p.starts_with('/') && !UNDOCUMENTED.contains(p)) {
        let uri: String = pattern
            .split('/')
            .map(|s| if s.starts_with('{') { "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let req = TestRequest::default().method(method.clone()).uri(&uri);
            if app.call(req).await.status == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            let documented = &doc["paths"][pattern][method.as_str().to_lowercase()];
            assert!(documented.is_object(), "{method} {pattern} is served but not in the OpenAPI document");
            operations += 1;
        }
    }
    let documented: usize =
        doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(operations, documented, "every documented operation was found served");
}

/// Every operation the document lists is routed: asked without a token or a body, none answers 404/405.
#[actix_web::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new(TestDb::sqlite()).await;
    let doc: Value = serde_json::from_str(latchkey_http::routes::docs::json()).unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for (method, _) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let req = TestRequest::default().method(method.clone()).uri(&uri);
            let status = app.call(req).await.status;
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri} is documented but answers {status}"
            );
            operations += 1;
        }
    }
    assert!(operations >= 18, "only {operations} operations documented");
}

#[actix_web::test]
async fn swagger_ui_is_served_from_the_binary_and_redoc_from_its_page() {
    let app = TestApp::new(TestDb::sqlite()).await;

    let res = app.get("/docs").await;
    assert_eq!(res.status, StatusCode::OK);
    let csp = res.headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("'unsafe-inline'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = res.text;
    assert!(page.contains("swagger-ui"));

    // Every asset the page names is served.
    for asset in page.split('"').filter(|s| s.starts_with("/docs/")) {
        let (status, content_type, body) = get_text(&app, asset).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty(), "{asset}");
        let expected = if asset.ends_with(".js") {
            "javascript"
        } else if asset.ends_with(".css") {
            "text/css"
        } else {
            "image/png"
        };
        assert!(content_type.contains(expected), "{asset}: {content_type}");
    }
    let (_, _, initializer) = get_text(&app, "/docs/swagger-initializer.js").await;
    assert!(initializer.contains("/api/v1/openapi.json"), "{initializer}");

    let (status, content_type, body) = get_text(&app, "/docs/oauth2-redirect").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html") && body.contains("oauth2"), "{content_type}");

    let res = app.get("/docs/no-such-file.js").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.body["errors"][0]["code"], "SYS_002");

    let (status, content_type, body) = get_text(&app, "/redoc").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"));
    assert!(body.contains(r#"<redoc spec-url="/api/v1/openapi.json">"#));
}

/// Both docs pages work on a closed network: nothing they name lives on another origin, ReDoc's bundle is
/// served from the binary, and the CSP allows no other origin and no inline script.
#[actix_web::test]
async fn the_docs_pages_need_no_outside_network() {
    let app = TestApp::new(TestDb::sqlite()).await;
    for page in ["/docs", "/redoc"] {
        let res = app.get(page).await;
        let csp = res.headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
        for directive in csp.split(';').map(str::trim) {
            assert!(!directive.contains("http"), "{page}: {directive} allows another origin");
        }
        let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap();
        assert_eq!(script_src, "script-src 'self'", "{page}");
        let body = res.text;
        assert!(!body.contains("http://") && !body.contains("https://"), "{page} names another origin:\n{body}");
        assert!(!body.contains("<script>"), "{page} has an inline script");
    }

    let (status, content_type, body) = get_text(&app, "/redoc/redoc.standalone.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/javascript"), "{content_type}");
    assert!(body.len() > 500_000 && body.contains("ReDoc"), "not ReDoc's bundle ({} bytes)", body.len());
    let license = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/redoc/LICENSE");
    assert!(std::fs::read_to_string(license).unwrap().contains("Rebilly"), "ReDoc's licence is beside its bundle");
}
