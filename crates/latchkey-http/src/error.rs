//! The error envelope: every error status leaves through [`ApiError`], rendered in exactly one place.
//!
//! `{"success": false, "errors": [{"code": "AUTH_006", "message": "...", "field": null}]}`

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use latchkey_domain::DomainError;
use latchkey_service::ServiceError;
use latchkey_service::error::ConflictKind;
use serde::Serialize;
use utoipa::ToSchema;

use crate::pydantic::domain_message;

/// One entry of the envelope's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorItem {
    /// A stable code, e.g. `AUTH_006`, `VAL_001`, `SYS_004`.
    #[schema(value_type = String, example = "VAL_001")]
    pub code: &'static str,
    #[schema(value_type = String, example = "Field required")]
    pub message: Cow<'static, str>,
    /// The input the error is about (`body` fields by name, query and path parameters, headers), or null.
    #[schema(example = "email")]
    pub field: Option<String>,
}

impl ErrorItem {
    /// An entry without a field.
    pub fn new(code: &'static str, message: impl Into<Cow<'static, str>>) -> ErrorItem {
        ErrorItem { code, message: message.into(), field: None }
    }

    /// A `VAL_001` entry for a field (or for the whole body when `field` is `None`).
    pub fn validation(field: Option<String>, message: impl Into<Cow<'static, str>>) -> ErrorItem {
        ErrorItem { code: codes::VALIDATION, message: message.into(), field }
    }

    /// The `VAL_001` entry for a domain rule's failure, at the rule's field, worded as pydantic words it.
    pub fn domain(e: &DomainError) -> ErrorItem {
        ErrorItem::validation(Some(e.field().to_owned()), domain_message(e))
    }
}

/// The error codes the API emits (the reference's `ErrorCode` values).
pub mod codes {
    pub const INVALID_CREDENTIALS: &str = "AUTH_001";
    pub const INSUFFICIENT_PERMISSIONS: &str = "AUTH_004";
    pub const AUTHENTICATION_REQUIRED: &str = "AUTH_006";
    pub const OPERATION_FORBIDDEN: &str = "AUTH_007";
    pub const USER_ALREADY_EXISTS: &str = "USER_002";
    pub const VALIDATION: &str = "VAL_001";
    pub const INVALID_INPUT: &str = "VAL_006";
    pub const INTERNAL: &str = "SYS_001";
    pub const NOT_FOUND: &str = "SYS_002";
    pub const METHOD_NOT_ALLOWED: &str = "SYS_003";
    pub const RATE_LIMITED: &str = "SYS_004";
    pub const ALREADY_EXISTS: &str = "SYS_005";
    pub const REQUEST_TOO_LARGE: &str = "REQUEST_TOO_LARGE";
}

/// The `Retry-After` of a 503 for an unreachable database: the pool's own wait for a connection (5 s), so a
/// client that follows it does not add to the load while the database is away, and is back soon after.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An error response: status, envelope entries, and what is logged (never sent) for a 5xx.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    errors: Vec<ErrorItem>,
    www_authenticate: bool,
    retry_after: Option<u64>,
    /// The `Allow` header of a 405: the methods the resource serves.
    allow: Option<String>,
    /// `Connection: close`: the connection is not reused after this answer.
    close: bool,
    cause: Option<String>,
}

/// The error envelope, the body of every error status.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ErrorResponse)]
pub struct Envelope<'a> {
    /// Always `false`.
    success: bool,
    #[schema(value_type = Vec<ErrorItem>)]
    errors: &'a [ErrorItem],
}

impl ApiError {
    /// An error with one entry.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            status,
            errors: vec![ErrorItem::new(code, message)],
            www_authenticate: false,
            retry_after: None,
            allow: None,
            close: false,
            cause: None,
        }
    }

    /// 401 `AUTH_006` with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, codes::AUTHENTICATION_REQUIRED, message).with_www_authenticate()
    }

    /// 403 `AUTH_004`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, codes::INSUFFICIENT_PERMISSIONS, message)
    }

    /// 404 `SYS_002`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, message)
    }

    /// 422 `VAL_001` with one entry per problem.
    pub fn validation(errors: Vec<ErrorItem>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            www_authenticate: false,
            retry_after: None,
            allow: None,
            close: false,
            cause: None,
        }
    }

    /// 429 `SYS_004` with `Retry-After`.
    pub fn rate_limited(message: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED, message);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 413 `REQUEST_TOO_LARGE`.
    pub fn too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REQUEST_TOO_LARGE,
            "Request body too large. Maximum size is 10MB",
        )
    }

    /// 408 `VAL_006` "Request body not received in time", closing the connection: the body did not
    /// arrive within the deadline (`crate::body`). Status and code are those of actix's own answer to a
    /// head that is too slow (see `crate::server`).
    pub fn body_timeout() -> ApiError {
        let mut e =
            ApiError::new(StatusCode::REQUEST_TIMEOUT, codes::INVALID_INPUT, "Request body not received in time");
        e.close = true;
        e
    }

    /// 500 `SYS_001` with a generic message; `cause` is logged, never sent.
    pub fn internal(cause: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "An unexpected error occurred. Please try again later.",
        );
        e.cause = Some(cause.into());
        e
    }

    /// 503 `SYS_001` "Service temporarily unavailable" with `Retry-After`: the database could not be
    /// reached in time. `cause` is logged, never sent.
    pub fn unavailable(cause: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::INTERNAL, "Service temporarily unavailable");
        e.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
        e.cause = Some(cause.into());
        e
    }

    /// The envelope for an error that some actix component (not our handlers) produced, e.g. actix-cors
    /// refusing a preflight: its status, a code for that status, and its text for a 4xx (those texts are
    /// written for clients); a 5xx says nothing and logs the cause.
    pub fn from_actix(e: &actix_web::Error) -> ApiError {
        let status = e.as_response_error().status_code();
        if status.is_server_error() {
            return ApiError::internal(e.to_string());
        }
        let code = match status {
            StatusCode::UNAUTHORIZED => codes::AUTHENTICATION_REQUIRED,
            StatusCode::FORBIDDEN => codes::INSUFFICIENT_PERMISSIONS,
            StatusCode::NOT_FOUND => codes::NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED => codes::METHOD_NOT_ALLOWED,
            StatusCode::PAYLOAD_TOO_LARGE => codes::REQUEST_TOO_LARGE,
            StatusCode::TOO_MANY_REQUESTS => codes::RATE_LIMITED,
            StatusCode::UNPROCESSABLE_ENTITY => codes::VALIDATION,
            _ => codes::INVALID_INPUT,
        };
        ApiError::new(status, code, e.to_string())
    }

    /// 503 `SYS_001` with `Retry-After`: the server sheds load (too many password checks waiting). Not
    /// logged per request: under a flood that would be thousands of lines a second; the hashing pool
    /// counts shed requests instead.
    pub fn overloaded(retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::INTERNAL, "Service temporarily unavailable");
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 405 `SYS_003` with `Allow` listing the methods the resource serves (RFC 9110 §15.5.6).
    pub fn method_not_allowed(allow: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED, "Method not allowed");
        e.allow = Some(allow.into());
        e
    }

    /// Adds `WWW-Authenticate: Bearer`.
    pub fn with_www_authenticate(mut self) -> ApiError {
        self.www_authenticate = true;
        self
    }

    /// Sets the field of the (first) entry.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        if let Some(first) = self.errors.first_mut() {
            first.field = Some(field.into());
        }
        self
    }

    /// The status as a number.
    pub fn status_code_u16(&self) -> u16 {
        self.status.as_u16()
    }

    /// The entries, for tests and logging.
    pub fn errors(&self) -> &[ErrorItem] {
        &self.errors
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errors.first() {
            Some(e) => write!(f, "{} {}: {}", self.status.as_u16(), e.code, e.message),
            None => write!(f, "{}", self.status),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            // The one place a server-side failure is logged; the client sees only the generic message.
            tracing::error!(status = self.status.as_u16(), cause = %cause, "request failed");
        }
        let mut res = HttpResponse::build(self.status);
        if self.www_authenticate {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            res.insert_header((header::ALLOW, allow.as_str()));
        }
        if self.close {
            res.force_close();
        }
        res.json(Envelope { success: false, errors: &self.errors })
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(errors) => ApiError::validation(errors.iter().map(ErrorItem::domain).collect()),
            ServiceError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS, "Invalid email or password")
                    .with_www_authenticate()
            }
            ServiceError::InactiveAccount => {
                ApiError::new(StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS, "User account is inactive")
                    .with_www_authenticate()
            }
            ServiceError::Unauthenticated(message) => ApiError::unauthorized(message),
            ServiceError::Forbidden(message) => ApiError::forbidden(message),
            ServiceError::WrongCurrentPassword => {
                ApiError::new(StatusCode::FORBIDDEN, codes::INVALID_CREDENTIALS, "Current password is incorrect")
            }
            ServiceError::OperationForbidden(message) => {
                ApiError::new(StatusCode::FORBIDDEN, codes::OPERATION_FORBIDDEN, message)
            }
            ServiceError::NotFound(message) => ApiError::not_found(message),
            ServiceError::Conflict { kind, message, field } => {
                let code = match kind {
                    ConflictKind::Email | ConflictKind::Membership => codes::USER_ALREADY_EXISTS,
                    ConflictKind::Other => codes::ALREADY_EXISTS,
                };
                let e = ApiError::new(StatusCode::CONFLICT, code, message);
                match field {
                    Some(f) => e.with_field(f),
                    None => e,
                }
            }
            ServiceError::BadRequest(message) => ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_INPUT, message),
            ServiceError::LoginThrottled { retry_after_secs } => ApiError::rate_limited(
                "Too many failed login attempts for this account. Please try again later.",
                retry_after_secs,
            ),
            ServiceError::Overloaded { retry_after_secs } => ApiError::overloaded(retry_after_secs),
            ServiceError::Unavailable(cause) => ApiError::unavailable(cause),
            ServiceError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking pool: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody as _;

    use super::*;

    fn render(e: ServiceError) -> (u16, serde_json::Value, Option<String>) {
        let api = ApiError::from(e);
        let res = api.error_response();
        let status = res.status().as_u16();
        let www = res.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
        let bytes = res.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), www)
    }

    #[test]
    fn every_service_error_maps_to_one_status_and_code() {
        let cases: Vec<(ServiceError, u16, &str, &str)> = vec![
            (ServiceError::InvalidCredentials, 401, "AUTH_001", "Invalid email or password"),
            (ServiceError::InactiveAccount, 401, "AUTH_001", "User account is inactive"),
            (ServiceError::Unauthenticated("Token expired"), 401, "AUTH_006", "Token expired"),
            (ServiceError::Forbidden("Inactive user".into()), 403, "AUTH_004", "Inactive user"),
            (ServiceError::WrongCurrentPassword, 403, "AUTH_001", "Current password is incorrect"),
            (ServiceError::NotFound("Session x not found".into()), 404, "SYS_002", "Session x not found"),
            (
                ServiceError::OperationForbidden("Cannot delete your own account".into()),
                403,
                "AUTH_007",
                "Cannot delete your own account",
            ),
            (
                ServiceError::conflict("Organization with slug 'acme' already exists"),
                409,
                "SYS_005",
                "Organization with slug 'acme' already exists",
            ),
            // What a database's "no row" and "unique key taken" become when no use case words them.
            (ServiceError::from(latchkey_db::DbError::NotFound), 404, "SYS_002", "Not found"),
            (
                ServiceError::from(latchkey_db::DbError::Conflict { constraint: "ix_organizations_slug".into() }),
                409,
                "SYS_005",
                "A record with this data already exists",
            ),
            (
                ServiceError::BadRequest("Invalid or expired password reset token"),
                400,
                "VAL_006",
                "Invalid or expired password reset token",
            ),
            (
                ServiceError::LoginThrottled { retry_after_secs: 7 },
                429,
                "SYS_004",
                "Too many failed login attempts for this account. Please try again later.",
            ),
            (ServiceError::Overloaded { retry_after_secs: 1 }, 503, "SYS_001", "Service temporarily unavailable"),
            (
                ServiceError::Unavailable("pool timed out: secret detail".into()),
                503,
                "SYS_001",
                "Service temporarily unavailable",
            ),
            (
                ServiceError::Internal("diesel said: password=hunter2".into()),
                500,
                "SYS_001",
                "An unexpected error occurred. Please try again later.",
            ),
        ];
        for (err, status, code, message) in cases {
            let (got_status, body, _) = render(err);
            assert_eq!(got_status, status);
            assert_eq!(
                body,
                serde_json::json!({"success": false, "errors": [{"code": code, "message": message, "field": null}]})
            );
        }
        let (status, body, _) = render(ServiceError::Conflict {
            kind: ConflictKind::Membership,
            message: "User is already a member of this organization".into(),
            field: Some("user_id"),
        });
        assert_eq!(status, 409);
        assert_eq!(
            body,
            serde_json::json!({"success": false, "errors": [{
                "code": "USER_002", "message": "User is already a member of this organization", "field": "user_id"
            }]})
        );
        let (_, _, www) = render(ServiceError::Unauthenticated("Not authenticated"));
        assert_eq!(www.as_deref(), Some("Bearer"));
    }

    #[test]
    fn validation_errors_list_every_field_with_pydantic_prefixes() {
        let (status, body, _) = render(ServiceError::Validation(vec![
            DomainError::invalid("password", "Password must be at least 12 characters long"),
            DomainError::constraint("locale", "String should have at most 10 characters"),
        ]));
        assert_eq!(status, 422);
        assert_eq!(body["errors"][0]["message"], "Value error, Password must be at least 12 characters long");
        assert_eq!(body["errors"][0]["field"], "password");
        assert_eq!(body["errors"][1]["message"], "String should have at most 10 characters");
        assert_eq!(body["errors"][1]["code"], "VAL_001");
    }

    #[test]
    fn an_unreachable_database_is_503_with_retry_after() {
        let res = ApiError::from(ServiceError::Unavailable("timed out waiting for connection".into())).error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "5");
        // The hashing pool's load shedding says when to retry too; a plain 500 does not.
        let res = ApiError::from(ServiceError::Overloaded { retry_after_secs: 2 }).error_response();
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "2");
        let res = ApiError::from(ServiceError::Internal("x".into())).error_response();
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn rate_limit_sets_retry_after() {
        let res = ApiError::rate_limited("Rate limit exceeded: 5 per 1 minute", 0).error_response();
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}
