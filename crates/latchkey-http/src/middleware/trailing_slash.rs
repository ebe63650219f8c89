//! A trailing slash answers 307 to the canonical path, as the reference (Starlette's `redirect_slashes`)
//! does: `GET /api/v1/users/me/?x=1` → `307 Location: /api/v1/users/me?x=1`. 307 keeps the method and
//! the body, so a client's `POST .../login/` still logs in after following it.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::LOCATION;
use actix_web::middleware::Next;

/// The middleware function (`actix_web::middleware::from_fn`). Only a path that is served without its
/// trailing slashes is redirected; anything else goes on (and meets the 404). A path starting with `//`
/// is never redirected: `Location: //host` would send the client to another site.
pub async fn redirect_trailing_slash(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("//") {
        let canonical = path.trim_end_matches('/');
        if !canonical.is_empty() && req.resource_map().has_resource(canonical) {
            let location = match req.query_string() {
                "" => canonical.to_owned(),
                query => format!("{canonical}?{query}"),
            };
            let response = HttpResponse::TemporaryRedirect().insert_header((LOCATION, location)).finish();
            return Ok(req.into_response(response));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
