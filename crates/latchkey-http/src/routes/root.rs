//! `GET /`: a small page pointing at the API docs.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>App API</title></head>
<body>
<h1>Welcome to app API</h1>
<p>Latchkey: authentication and multi-device sessions.</p>
<p>See the <a href="/docs">API documentation</a> and <a href="/health">health</a>.</p>
</body>
</html>
"#;

/// The page.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).body(PAGE)
}
