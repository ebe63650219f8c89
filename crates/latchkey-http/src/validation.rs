//! Request parsing that answers every malformed input with a 422 (or 413) in the envelope, worded like
//! the reference (pydantic): `Field required`, `JSON decode error`, `Input should be a valid string`, …
//! actix's own `Json`/`Form` extractors are not used: their errors are plain text.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use latchkey_domain::DomainError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorItem};
use crate::middleware::body_limit::MAX_BODY_BYTES;

/// The envelope entry for a domain rule's failure. Custom validators' messages get pydantic's
/// `"Value error, "` prefix; built-in constraint messages (pattern, length) do not.
pub fn domain_item(e: &DomainError) -> ErrorItem {
    let message = if e.is_custom() { format!("Value error, {}", e.message()) } else { e.message().to_owned() };
    ErrorItem::validation(Some(e.field().to_owned()), message)
}

/// A 422 for one domain failure, relabelled to `field` (a request's field name may differ from the rule's).
pub fn domain_error_at(field: &str, e: &DomainError) -> ApiError {
    let mut item = domain_item(e);
    item.field = Some(field.to_owned());
    ApiError::validation(vec![item])
}

/// A request body type: the fields that must be present and non-null, checked (all of them, each
/// reported) before serde runs, so a client sees every missing field at once.
pub trait Body: DeserializeOwned + 'static {
    /// Required field names.
    const REQUIRED: &'static [&'static str];
    /// Fields holding free text (at any depth below them), where tab, line feed and carriage return are
    /// allowed. Every other string in a body is single-line and may hold no control character at all.
    const FREE_TEXT: &'static [&'static str] = &[];
}

/// A JSON body of type `T`, limited to 10 MiB of bytes actually read.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// A form (`application/x-www-form-urlencoded`) body of type `T`.
#[derive(Debug)]
pub struct Form<T>(pub T);

async fn read_body(mut payload: Payload) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid body: {e}"))]))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn not_an_object() -> ApiError {
    ApiError::validation(vec![ErrorItem::validation(
        None,
        "Input should be a valid dictionary or object to extract fields from",
    )])
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A body as the object of fields the request structs are read from.
type Fields = Map<String, Value>;

/// Reads the body, turns it into a JSON object with `to_map`, then into `T`.
fn extract<T: Body, W: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    to_map: fn(&str, &[u8]) -> Result<Fields, ApiError>,
    wrap: fn(T) -> W,
) -> Pin<Box<dyn Future<Output = Result<W, ApiError>>>> {
    let ctype = content_type(req);
    let payload = payload.take();
    Box::pin(async move {
        let bytes = read_body(payload).await?;
        from_map::<T>(to_map(&ctype, &bytes)?).map(wrap)
    })
}

fn json_object(ctype: &str, bytes: &[u8]) -> Result<Fields, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::validation(vec![ErrorItem::validation(None, "Field required")]));
    }
    // The reference treats a non-JSON content type like a body that is not an object.
    let json_type = ctype.is_empty() || ctype == "application/json" || ctype.ends_with("+json");
    if !json_type {
        return Err(not_an_object());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::validation(vec![ErrorItem::validation(Some("0".into()), "JSON decode error")]))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(not_an_object()),
    }
}

fn form_object(ctype: &str, bytes: &[u8]) -> Result<Fields, ApiError> {
    if !bytes.is_empty() && ctype != "application/x-www-form-urlencoded" {
        return Err(not_an_object());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|_| ApiError::validation(vec![ErrorItem::validation(None, "Invalid form body")]))?;
    Ok(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

impl<T: Body> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, json_object, Json)
    }
}

impl<T: Body> FromRequest for Form<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, form_object, Form)
    }
}

/// Checks required fields and control characters, then deserialises with the failing field's path.
fn from_map<T: Body>(map: Map<String, Value>) -> Result<T, ApiError> {
    let mut errors: Vec<ErrorItem> = T::REQUIRED
        .iter()
        .filter_map(|&name| match map.get(name) {
            None => Some(ErrorItem::validation(Some(name.to_owned()), "Field required")),
            Some(Value::Null) => Some(ErrorItem::validation(Some(name.to_owned()), "Input should be a valid string")),
            Some(_) => None,
        })
        .collect();
    for (key, value) in &map {
        if has_control(key, false) {
            errors.push(ErrorItem::validation(None, CONTROL_IN_KEY));
            continue;
        }
        check_controls(value, key, T::FREE_TEXT.contains(&key.as_str()), &mut errors);
    }
    if !errors.is_empty() {
        // A body full of bad strings gets a bounded answer.
        errors.truncate(MAX_ERRORS);
        return Err(ApiError::validation(errors));
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        ApiError::validation(vec![ErrorItem::validation(field, pydantic_message(&e.inner().to_string()))])
    })
}

/// At most this many entries in one 422.
const MAX_ERRORS: usize = 50;

/// Message for a control character in a single-line string.
pub const CONTROL_IN_TEXT: &str = "String should not contain control characters";
/// Message for a control character other than tab, line feed or carriage return in free text.
pub const CONTROL_IN_FREE_TEXT: &str =
    "String should not contain control characters other than tab, line feed and carriage return";
/// Message for a control character in an object's key (the key is not echoed back).
pub const CONTROL_IN_KEY: &str = "Keys should not contain control characters";

/// Whether `s` holds an ASCII control character (U+0000–U+001F, U+007F), tab, line feed and carriage
/// return excepted in free text. U+0000 is what PostgreSQL cannot store (text or jsonb); the others
/// have no business in names and identifiers and make log lines and exports lie.
pub fn has_control(s: &str, free_text: bool) -> bool {
    s.bytes().any(|b| (b < 0x20 || b == 0x7f) && !(free_text && matches!(b, b'\t' | b'\n' | b'\r')))
}

/// Reports every string (value or key) under `value` that holds a control character, by its path
/// (`preferences.theme`, `tags.2`). serde_json's recursion limit bounds the depth.
fn check_controls(value: &Value, path: &str, free_text: bool, errors: &mut Vec<ErrorItem>) {
    match value {
        Value::String(s) if has_control(s, free_text) => {
            let message = if free_text { CONTROL_IN_FREE_TEXT } else { CONTROL_IN_TEXT };
            errors.push(ErrorItem::validation(Some(path.to_owned()), message));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_controls(item, &format!("{path}.{i}"), free_text, errors);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if has_control(key, false) {
                    errors.push(ErrorItem::validation(Some(path.to_owned()), CONTROL_IN_KEY));
                } else {
                    check_controls(item, &format!("{path}.{key}"), free_text, errors);
                }
            }
        }
        _ => {}
    }
}

/// Words serde's type errors the way pydantic does.
fn pydantic_message(serde: &str) -> String {
    let expected = serde.split("expected ").nth(1).unwrap_or("");
    if serde.starts_with("invalid type") {
        let text = if expected.contains("string") || expected.contains("UUID") {
            "Input should be a valid string"
        } else if expected.contains("bool") {
            "Input should be a valid boolean"
        } else if expected.contains("integer") || expected.contains("i64") || expected.contains("u32") {
            "Input should be a valid integer"
        } else if expected.contains("map") || expected.contains("struct") {
            "Input should be a valid dictionary"
        } else if expected.contains("sequence") {
            "Input should be a valid list"
        } else {
            return serde.to_owned();
        };
        return text.to_owned();
    }
    if let Some(rest) = serde.strip_prefix("unknown variant ") {
        return format!("Input should be one of the allowed values ({rest})");
    }
    serde.to_owned()
}

/// Parses a UUID path or body parameter, with pydantic's message on failure.
pub fn parse_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|e| {
        ApiError::validation(vec![ErrorItem::validation(
            Some(field.to_owned()),
            format!("Input should be a valid UUID, {e}"),
        )])
    })
}

/// Pagination query (`page` ≥ 1, `limit` 1..=100), with the reference's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub page: u32,
    pub limit: u32,
}

impl PageQuery {
    /// Reads `page` and `limit` from a query string.
    pub fn parse(query: &str) -> Result<PageQuery, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let get = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let mut errors = Vec::new();
        let mut int = |name: &str, default: u32, max: Option<u32>| -> u32 {
            let Some(raw) = get(name) else { return default };
            match raw.trim().parse::<i64>() {
                Err(_) => {
                    errors.push(ErrorItem::validation(
                        Some(name.to_owned()),
                        "Input should be a valid integer, unable to parse string as an integer",
                    ));
                    default
                }
                Ok(v) if v < 1 => {
                    errors.push(ErrorItem::validation(
                        Some(name.to_owned()),
                        "Input should be greater than or equal to 1",
                    ));
                    default
                }
                Ok(v) if max.is_some_and(|m| v > i64::from(m)) => {
                    errors.push(ErrorItem::validation(
                        Some(name.to_owned()),
                        format!("Input should be less than or equal to {}", max.unwrap_or_default()),
                    ));
                    default
                }
                Ok(v) => u32::try_from(v).unwrap_or(u32::MAX),
            }
        };
        let page = int("page", 1, None);
        let limit = int("limit", 20, Some(100));
        if errors.is_empty() { Ok(PageQuery { page, limit }) } else { Err(ApiError::validation(errors)) }
    }
}

impl FromRequest for PageQuery {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(PageQuery::parse(req.query_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_query_bounds() {
        assert_eq!(PageQuery::parse("").unwrap(), PageQuery { page: 1, limit: 20 });
        assert_eq!(PageQuery::parse("page=3&limit=100").unwrap(), PageQuery { page: 3, limit: 100 });
        let e = PageQuery::parse("page=0&limit=101").unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|i| (i.field.clone().unwrap(), i.message.to_string())).collect();
        assert_eq!(
            fields,
            vec![
                ("page".into(), "Input should be greater than or equal to 1".into()),
                ("limit".into(), "Input should be less than or equal to 100".into())
            ]
        );
        assert!(PageQuery::parse("page=x").is_err());
    }

    #[test]
    fn serde_messages_read_like_pydantic() {
        assert_eq!(pydantic_message("invalid type: integer `1`, expected a string"), "Input should be a valid string");
        assert_eq!(
            pydantic_message("invalid type: string \"x\", expected a boolean"),
            "Input should be a valid boolean"
        );
    }

    #[test]
    fn bad_uuid_names_the_field() {
        let e = parse_uuid("session_id", "nope").unwrap_err();
        assert_eq!(e.errors()[0].field.as_deref(), Some("session_id"));
        assert!(e.errors()[0].message.starts_with("Input should be a valid UUID"));
    }
}
