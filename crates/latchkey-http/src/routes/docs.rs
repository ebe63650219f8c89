//! The API's own description: `GET /api/v1/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`.
//! Both pages are served entirely from the binary (Swagger UI from `utoipa-swagger-ui`, ReDoc's
//! standalone bundle vendored in `assets/redoc/`), so they work on a closed network. The docs paths get
//! a CSP that allows only what these pages need (`middleware::security_headers`).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::openapi;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The document of every served operation (`routes::all`) as JSON, built once: what
/// `/api/v1/openapi.json` serves and `latchkey openapi` prints.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> =
        LazyLock::new(|| openapi::document(&super::all()).to_pretty_json().expect("the OpenAPI document serialises"));
    &JSON
}

/// Swagger UI's page. Its assets are named from `/docs/` so that the page works at `/docs` (`/docs/`
/// redirects there).
const SWAGGER_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Latchkey API - Swagger UI</title>
<link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
<link rel="stylesheet" type="text/css" href="/docs/index.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="/docs/swagger-ui-standalone-preset.js" charset="utf-8"></script>
<script src="/docs/swagger-initializer.js" charset="utf-8"></script>
</body>
</html>
"#;

const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Latchkey API - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(json())
}

/// `GET /docs`.
pub async fn swagger() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).body(SWAGGER_PAGE)
}

/// `GET /redoc`.
pub async fn redoc() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).body(REDOC_PAGE)
}

/// ReDoc's standalone bundle (npm `redoc` 2.5.4; see `assets/redoc/README.md`).
const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

/// `GET /redoc/redoc.standalone.js`.
pub async fn redoc_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(REDOC_JS)
}

/// `GET /docs/{file}`: Swagger UI's files; `oauth2-redirect` is the page its OAuth2 flows return to.
pub async fn swagger_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
        Arc::new(Config::new([OPENAPI_PATH]).oauth2_redirect_url("/docs/oauth2-redirect").persist_authorization(false))
    });
    let name = match file.as_str() {
        "oauth2-redirect" => "oauth2-redirect.html",
        // Our page stands in for the distribution's, which names its assets relative to `/docs/`.
        "index.html" => return Err(ApiError::not_found("Not found")),
        other => other,
    };
    match utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG)) {
        Ok(Some(f)) => {
            let mut response = HttpResponse::Ok();
            response.content_type(f.content_type).insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
            Ok(match f.bytes {
                // The distribution's files are compiled in; only the initializer is rendered per config.
                Cow::Borrowed(bytes) => response.body(bytes),
                Cow::Owned(bytes) => response.body(bytes),
            })
        }
        Ok(None) => Err(ApiError::not_found("Not found")),
        Err(e) => Err(ApiError::internal(format!("serving Swagger UI's {name}: {e}"))),
    }
}
