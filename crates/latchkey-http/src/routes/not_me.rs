//! `/api/v1/auth/not-me`: the link in a new-device alert. `GET` answers a small HTML page (no script; the
//! API's strict security headers) that says what happened and offers one button, and changes nothing:
//! mail scanners open links. The button POSTs the token as a form and gets a page back; a client may POST
//! JSON `{"token": ...}` and get JSON. Either ends the alerted session and emails a password-reset link.
//! 5 requests per minute per IP.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use latchkey_service::ServiceError;
use latchkey_service::not_me::{self, AlertedLogin};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope};
use crate::extract::{Body, Form, Json};
use crate::responses::MessageResponse;
use crate::routes::run;
use crate::state::AppState;

/// The "not me" operations.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_page, page).limit(5);
    r.add(__path_answer, answer).limit(5);
}

/// What the answer says when it worked.
const DONE: &str = "That session has ended. We sent a link to reset your password to your email address.";

/// `?token=`.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    /// The token of the alert's link.
    token: Option<String>,
}

/// `{"token": ...}`, or the form field `token`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NotMeRequest)]
pub struct NotMeBody {
    /// The token of the alert's link.
    token: String,
}

impl Body for NotMeBody {
    const REQUIRED: &'static [&'static str] = &["token"];
}

/// The alert's page: what signed in, from where and when, and the button that says "not me". Changes
/// nothing. A used, expired or forged token gets a page saying so (400).
#[utoipa::path(
    get,
    path = "/api/v1/auth/not-me",
    tag = "auth",
    params(("token" = String, Query, description = "The token of the alert's link")),
    responses(
        (status = 200, description = "The alert's page (HTML) with its one button", content_type = "text/html", body = String),
        (status = 400, description = "A used, expired or forged token: a page saying so (HTML)", content_type = "text/html", body = String),
        (status = 429, description = "Rate limited per client IP", body = Envelope),
    ),
)]
pub async fn page(state: web::Data<AppState>, query: web::Query<TokenQuery>) -> Result<HttpResponse, ApiError> {
    let Some(token) = query.into_inner().token.filter(|t| !t.is_empty()) else {
        return Ok(html(StatusCode::BAD_REQUEST, &invalid_page()));
    };
    let form_token = token.clone();
    match state.services.blocking(move |svc| not_me::inspect(svc, &token)).await {
        Ok(login) => Ok(html(StatusCode::OK, &alert_page(&login, &form_token))),
        Err(ServiceError::BadRequest(_)) => Ok(html(StatusCode::BAD_REQUEST, &invalid_page())),
        Err(e) => Err(e.into()),
    }
}

/// "Not me": ends the alerted session and emails the account a password-reset link. A form (the page's
/// button) gets a page back; JSON gets `{"success": true, "message": ...}`. A used, expired or forged token
/// is 400 `VAL_006` "Invalid or expired token" (a page for a form).
#[utoipa::path(
    post,
    path = "/api/v1/auth/not-me",
    tag = "auth",
    request_body(content(
        (NotMeBody = "application/json"),
        (NotMeBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The session ended and a reset link was sent: JSON, or a page (HTML) for a form",
            content((MessageResponse = "application/json"), (String = "text/html"))),
        (status = 400, description = "A used, expired or forged token (`VAL_006`; a page for a form)",
            content((Envelope = "application/json"), (String = "text/html"))),
        (status = 429, description = "Rate limited per client IP", body = Envelope),
    ),
)]
pub async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut payload: Payload = payload.into_inner();
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        let Json(body) = Json::<NotMeBody>::from_request(&req, &mut payload).await?;
        run(&state, move |svc| not_me::disown(svc, &body.token)).await?;
        return Ok(HttpResponse::Ok().json(MessageResponse::ok(DONE)));
    }
    let Ok(Form(body)) = Form::<NotMeBody>::from_request(&req, &mut payload).await else {
        return Ok(html(StatusCode::BAD_REQUEST, &invalid_page()));
    };
    match state.services.blocking(move |svc| not_me::disown(svc, &body.token)).await {
        Ok(_) => Ok(html(StatusCode::OK, &done_page())),
        Err(ServiceError::BadRequest(_)) => Ok(html(StatusCode::BAD_REQUEST, &invalid_page())),
        Err(e) => Err(e.into()),
    }
}

fn html(status: StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status).content_type(ContentType::html()).body(body.to_owned())
}

/// Text for an HTML element or attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\n\
         <body>\n<main>\n{main}</main>\n</body>\n</html>\n"
    )
}

fn alert_page(login: &AlertedLogin, token: &str) -> String {
    let unknown = || "unknown".to_owned();
    let place = login.location.place().unwrap_or_else(unknown);
    let main = format!(
        "<h1>Was this you?</h1>\n\
         <p>Your account was signed in to from a device or place it had not used recently.</p>\n\
         <dl>\n<dt>Device</dt><dd id=\"device\">{}</dd>\n<dt>IP address</dt><dd id=\"ip\">{}</dd>\n\
         <dt>Location</dt><dd id=\"location\">{}</dd>\n<dt>Time</dt><dd id=\"time\">{} UTC</dd>\n</dl>\n\
         <p>If it was you, there is nothing to do: close this page.</p>\n\
         <form method=\"post\" action=\"not-me\">\n<input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <button type=\"submit\">This was not me: end that session</button>\n</form>\n\
         <p>We will end that session and email you a link to reset your password.</p>\n",
        escape(login.device_name.as_deref().unwrap_or("unknown device")),
        escape(&login.ip_address.clone().unwrap_or_else(unknown)),
        escape(&place),
        login.at.format("%Y-%m-%d %H:%M"),
        escape(token),
    );
    document("Was this you?", &main)
}

fn done_page() -> String {
    document(
        "Session ended",
        &format!(
            "<h1>Session ended</h1>\n<p id=\"done\">{}</p>\n<p>Reset your password now: whoever signed in may \
             know it.</p>\n",
            escape(DONE)
        ),
    )
}

fn invalid_page() -> String {
    document(
        "Link not valid",
        "<h1>This link is not valid</h1>\n<p id=\"invalid\">It has expired, was used already, or was never \
         issued.</p>\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_the_client_chose() {
        let login = AlertedLogin {
            device_name: Some("<script>alert(1)</script> \"x\" & 'y'".into()),
            ip_address: Some("203.0.113.7".into()),
            location: latchkey_domain::device::Location { city: None, country: Some("France".into()) },
            at: chrono::DateTime::UNIX_EPOCH,
        };
        let page = alert_page(&login, "tok\"en");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;x&quot; &amp; &#39;y&#39;"), "{page}");
        assert!(page.contains("value=\"tok&quot;en\""));
        assert!(page.contains("<dd id=\"location\">France</dd>"));
        assert!(page.contains("1970-01-01 00:00 UTC"));
    }
}
