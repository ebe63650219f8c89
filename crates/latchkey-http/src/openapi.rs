//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the request and
//! response types' `ToSchema` derives, so it cannot drift from the code. Its operations are exactly the
//! ones of the registry it is given: `routes::docs` gives it `routes::all()`, the list the app serves,
//! and serves it at `/api/v1/openapi.json` (rendered at `/docs` and `/redoc`); `latchkey openapi` prints
//! it and `docs/openapi.json` is a copy a test keeps current.
//!
//! Responses every operation of a kind shares are added here once rather than on each handler: 401 on
//! the operations that need a token, 422 on those that take input, 500 and 503 on all.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::endpoints::Endpoints;
use crate::error::Envelope;

/// The name of the bearer-token security scheme, as FastAPI names it for the reference.
pub const BEARER: &str = "OAuth2PasswordBearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Authentication and multi-device sessions. Errors use one envelope: \
                       `{\"success\": false, \"errors\": [{\"code\", \"message\", \"field\"}]}`.",
        license(name = "GPL-3.0-or-later", identifier = "GPL-3.0-or-later"),
    ),
    tags(
        (name = "health", description = "Liveness and database reachability."),
        (name = "auth", description = "Registration, login, token refresh, logout, password reset."),
        (name = "users", description = "Accounts: the caller's own, and (for superusers) everyone's."),
        (name = "sessions", description = "The caller's sessions (one per login and device) and security history."),
        (name = "admin", description = "Administration (superusers only): users, organizations, sessions, statistics."),
        (name = "organizations", description = "Organizations the caller belongs to, their members and settings."),
        (name = "oauth", description = "Social login: off in Latchkey; answered for clients that ask."),
    ),
    components(responses(RateLimited)),
)]
struct ApiDoc;

// The answer of every rate-limited route once its per-minute quota is used up; handlers name it with
// `(status = 429, response = RateLimited)`. The doc comment is the response's description.
/// Rate limited (per client IP); `Retry-After` says when to retry (`SYS_004`).
#[derive(Debug, ToResponse)]
#[expect(dead_code, reason = "a documentation type: only its schema is used")]
pub struct RateLimited(Envelope<'static>);

/// The document: the fixed parts above, every operation of `endpoints` and the schemas they use, and
/// the shared responses.
pub fn document(endpoints: &Endpoints) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let mut schemas = Vec::new();
    for endpoint in endpoints.iter() {
        doc.paths.merge(endpoint.doc().paths());
        endpoint.doc().schemas(&mut schemas);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.extend(schemas);
    Shared.modify(&mut doc);
    forbid_control_characters(&mut doc);
    doc
}

/// What every string of a request may hold: no ASCII control character (`middleware::control_chars`
/// refuses them in every body field, query parameter and path with a 422). `preferences` and `settings`
/// values are free JSON objects, where tab, line feed and carriage return are allowed: their rules
/// (depth, size, control characters at any depth) are not stated in the document.
pub const SINGLE_LINE: &str = r"^[^\x00-\x1F\x7F]*$";

/// States the control-character rule on every request string that has no pattern, format or enum of
/// its own (those already exclude control characters): the parameters of every operation, and the
/// properties of every schema a request body refers to. One rule, enforced in one middleware, is stated
/// here in one place rather than on each field.
fn forbid_control_characters(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Schema, SchemaType, Type};

    fn single_line(schema: &mut RefOr<Schema>) {
        let RefOr::T(Schema::Object(object)) = schema else { return };
        let string = match &object.schema_type {
            SchemaType::Type(t) => *t == Type::String,
            SchemaType::Array(types) => types.contains(&Type::String),
            SchemaType::AnyValue => false,
        };
        if string && object.pattern.is_none() && object.format.is_none() && object.enum_values.is_none() {
            object.pattern = Some(SINGLE_LINE.to_owned());
        }
    }

    let mut bodies = Vec::new();
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && let Some(schema) = &mut parameter.schema
                {
                    single_line(schema);
                }
            }
            if let Some(RefOr::T(body)) = &operation.request_body {
                for content in body.content.values() {
                    if let RefOr::T(content) = content
                        && let Some(RefOr::Ref(r)) = &content.schema
                    {
                        bodies.extend(r.ref_location.rsplit('/').next().map(str::to_owned));
                    }
                }
            }
        }
    }
    let Some(components) = &mut doc.components else { return };
    for name in bodies {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
            object.properties.values_mut().for_each(single_line);
        }
    }
}

/// Field schemas that the derive attributes cannot spell, for `#[schema(schema_with = ...)]`.
pub mod fields {
    use latchkey_domain::Role;
    use latchkey_domain::locale::SUPPORTED_LOCALES;
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    /// The separators a phone number may hold (removed before the check): white space as Rust's
    /// `char::is_whitespace` knows it, less the ASCII control characters refused everywhere, and `()-`.
    const PHONE_SEPARATORS: &str = r"[ \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000()-]";

    /// `phone_number`: `+` or `0` followed by 8 to 14 digits once the separators are removed; null clears it.
    pub fn phone_number() -> Object {
        let s = PHONE_SEPARATORS;
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .pattern(Some(format!("^{s}*[+0]({s}*[0-9]){{8,14}}{s}*$")))
            .description(Some(
                "`+` or `0` followed by 8 to 14 digits; spaces, hyphens and parentheses are removed first.",
            ))
            .examples(["+14155550123"])
            .build()
    }

    /// `locale`: one of the supported locales (`latchkey_domain::SUPPORTED_LOCALES`, written as the pattern
    /// `^[a-z]{2}(-[A-Z]{2})?$` lets them be: `en-GB`); null clears it.
    pub fn locale() -> Object {
        let written = SUPPORTED_LOCALES.iter().map(|l| match l.split_once('-') {
            Some((language, region)) => format!("{language}-{}", region.to_ascii_uppercase()),
            None => (*l).to_owned(),
        });
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some(written.map(Some).chain([None])))
            .examples(["en"])
            .build()
    }

    /// A field that may only be absent or null (any value is refused), e.g. `is_superuser` in `UserUpdate`.
    pub fn null_only() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Null))
            .description(Some(
                "Refused: superuser status is not changed through this endpoint (only null is accepted).",
            ))
            .build()
    }

    /// `role` of `AddMemberRequest`: absent means `member`.
    pub fn role() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(Role::ALL.iter().map(|r| r.as_str())))
            .description(Some("`owner`, `admin`, `member` (the default) or `guest`."))
            .examples(["member"])
            .build()
    }

    /// `action` of `BulkUserAction`.
    pub fn bulk_action() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(["activate", "deactivate", "delete"]))
            .examples(["deactivate"])
            .build()
    }
}

/// Adds the security scheme and the shared error responses.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let flow = Flow::Password(Password::new("/api/v1/auth/login/oauth", Scopes::new()));
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::OAuth2(OAuth2::new([flow])));

        for item in doc.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                add_shared_responses(operation);
            }
        }
    }
}

fn add_shared_responses(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let takes_input = operation.request_body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error_response(description)));
    };
    if secured {
        add("401", "Not authenticated: no token, a bad or expired one, or a session that has ended (`AUTH_006`)");
        add("403", "The account is inactive (`AUTH_004`)");
    }
    if takes_input {
        add("422", "Invalid input: one entry per problem, `field` naming it (`VAL_001`)");
    }
    add("500", "An unexpected error; the body carries no internals (`SYS_001`)");
    add("503", "The database is unavailable");
}

/// A response whose body is the error envelope.
pub fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_valid_json_with_the_shared_responses() {
        let doc = serde_json::to_value(document(&crate::routes::all())).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert_eq!(doc["info"]["title"], "Latchkey");
        let me = &doc["paths"]["/api/v1/users/me"]["get"];
        assert_eq!(me["security"][0][BEARER], serde_json::json!([]));
        assert!(me["responses"]["401"].is_object());
        assert!(me["responses"]["422"].is_null(), "GET /users/me takes no input");
        let login = &doc["paths"]["/api/v1/auth/login"]["post"];
        assert!(login["responses"]["401"].is_object(), "login's own 401 (bad credentials) stays");
        assert!(login["responses"]["422"].is_object());
        assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
        assert!(doc["components"]["securitySchemes"][BEARER]["flows"]["password"]["tokenUrl"].is_string());
    }
}
