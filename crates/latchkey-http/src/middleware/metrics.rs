//! HTTP request metrics: `latchkey_http_requests_total{method,route,status}` and the latency histogram
//! `latchkey_http_request_duration_seconds{method,route}`.
//!
//! The route label is the resource *pattern* the request matched (`/api/v1/sessions/{session_id}`),
//! never the raw path, and the method label is one of the standard methods or `other`: a client must not
//! be able to create new time series by inventing paths or methods. Requests that match no route are
//! labelled `unmatched`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use metrics::{SharedString, counter, histogram};

/// `latchkey_http_requests_total`.
pub const HTTP_REQUESTS: &str = "latchkey_http_requests_total";
/// `latchkey_http_request_duration_seconds`.
pub const HTTP_DURATION: &str = "latchkey_http_request_duration_seconds";
/// The route label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// A bounded method label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status as a label. The common ones need no allocation.
fn status_label(status: StatusCode) -> SharedString {
    let common = match status.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        307 => "307",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return SharedString::from(status.as_str().to_owned()),
    };
    SharedString::const_str(common)
}

/// The middleware function (`actix_web::middleware::from_fn`). A trailing-slash path matches no route: it
/// counts as `unmatched` with its 307.
pub async fn record_http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // The pattern is looked up before the call: an error from an inner layer carries no request.
    let route: SharedString = req.match_pattern().map_or(SharedString::const_str(UNMATCHED), SharedString::from);
    let method = method_label(req.method());
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let seconds = started.elapsed().as_secs_f64();
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status_label(status))
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(seconds);
    outcome.map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_label(StatusCode::OK).as_ref(), "200");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT).as_ref(), "418");
    }
}
