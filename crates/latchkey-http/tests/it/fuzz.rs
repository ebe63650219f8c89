//! Regressions found by `cargo xtask fuzz-api` (schemathesis against the served OpenAPI document): each
//! test names what the fuzzer saw.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;

use crate::{call, service, worlds};

/// schemathesis `unsupported_method`: a 405 must say which methods the resource serves (RFC 9110
/// §15.5.6), in the envelope and with the security headers like every other error. OPTIONS (without a
/// CORS preflight's headers) is an unsupported method like any other, and its `Allow` lists exactly the
/// documented methods (`allow_header_conformance`).
#[actix_web::test]
async fn a_405_lists_the_served_methods_in_allow() {
    let id = "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d";
    for w in worlds() {
        let app = service(w.state.clone()).await;
        for (method, path, allow) in [
            (Method::POST, "/health".to_owned(), "GET"),
            (Method::HEAD, "/health".to_owned(), "GET"),
            (Method::DELETE, "/api/v1/users/me".to_owned(), "GET, PATCH"),
            (Method::OPTIONS, format!("/api/v1/sessions/{id}"), "DELETE, PATCH"),
            (Method::GET, "/api/v1/auth/login".to_owned(), "POST"),
            (Method::POST, format!("/api/v1/admin/users/{id}"), "GET, PUT, DELETE"),
            (Method::PUT, "/docs".to_owned(), "GET"),
        ] {
            let res = call(&app, TestRequest::default().method(method.clone()).uri(&path)).await;
            assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(res.headers.get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{method} {path}");
            assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff", "{method} {path}");
            if method != Method::HEAD {
                assert_eq!(res.error().0, "SYS_003", "{method} {path}");
            }
        }
    }
}
