//! Request parsing that answers every malformed input with a 422 (or 413) in the envelope, worded like
//! the reference (pydantic): `Field required`, `JSON decode error`, `Input should be a valid string`, …
//! actix's own `Json`/`Form` extractors are not used: their errors are plain text.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use latchkey_domain::DomainError;
use latchkey_domain::list::{self, ListQuery, PageRequest, Sort, SortOrder};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::IntoParams;

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
    // Unknown fields are ignored (dropped by serde, never stored or logged), as the reference ignores
    // them: their keys and values are not checked either, so a client's extra field cannot fail a request
    // that the document allows.
    // (A type that does not name its fields, e.g. one with `#[serde(flatten)]`, has every field checked.)
    let known = field_names::<T>();
    for (key, value) in map.iter().filter(|(key, _)| known.is_empty() || known.contains(&key.as_str())) {
        check_controls(value, key, T::FREE_TEXT.contains(&key.as_str()), &mut errors);
    }
    if !errors.is_empty() {
        // A body full of bad strings gets a bounded answer.
        errors.truncate(MAX_ERRORS);
        return Err(ApiError::validation(errors));
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        // pydantic's location, joined with dots: `user_ids.1`, `preferences.theme`.
        let parts: Vec<String> = e
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let field = (!parts.is_empty()).then(|| parts.join("."));
        ApiError::validation(vec![ErrorItem::validation(field, pydantic_message(&e.inner().to_string()))])
    })
}

/// The field names a body type deserialises (`#[derive(Deserialize)]` on a struct hands them to
/// `deserialize_struct`), read once per type by asking it to deserialise from a deserializer that only
/// records them.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Deserializer, Error, Visitor};

    #[derive(Debug)]
    struct Fields(&'static [&'static str]);

    impl std::fmt::Display for Fields {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names recorded")
        }
    }

    impl std::error::Error for Fields {}

    impl Error for Fields {
        fn custom<M: std::fmt::Display>(_: M) -> Fields {
            Fields(&[])
        }
    }

    struct Recorder;

    impl<'de> Deserializer<'de> for Recorder {
        type Error = Fields;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
            Err(Fields(&[]))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Fields> {
            Err(Fields(fields))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    match T::deserialize(Recorder) {
        Err(Fields(fields)) => fields,
        Ok(_) => &[],
    }
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
        let text = if expected == UUID_TYPE {
            UUID_TYPE
        } else if expected.contains("string") || expected.contains("UUID") {
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

/// Parses a UUID path or query parameter, with pydantic's message on failure.
pub fn parse_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map_err(|_| ApiError::validation(vec![ErrorItem::validation(Some(field.to_owned()), uuid_message(raw))]))
}

/// pydantic's message for a string that is not a UUID: `Input should be a valid UUID, ` and the reason as
/// the `uuid` crate worded it in the version pydantic-core builds with (1-based byte positions, "expected
/// an optional prefix of `urn:uuid:` ..."), which later versions of the crate word differently. The same
/// diagnosis as that version, in the same order: a bad character first, then the simple format's length,
/// then the group count, then the first group of the wrong length.
pub fn uuid_message(raw: &str) -> String {
    const GROUP_STARTS: [usize; 5] = [0, 9, 14, 19, 24];
    const GROUP_LENGTHS: [usize; 5] = [8, 4, 4, 4, 12];
    let bytes = raw.as_bytes();
    let (inner, offset, simple) = match bytes {
        [b'{', .., b'}'] => (&raw[1..raw.len() - 1], 1, false),
        _ if bytes.starts_with(b"urn:uuid:") => (&raw["urn:uuid:".len()..], "urn:uuid:".len(), false),
        _ => (raw, 0, true),
    };
    let mut hyphens = 0;
    let mut group_ends = [0usize; 4];
    for (index, c) in inner.char_indices() {
        if c == '-' {
            if hyphens < 4 {
                group_ends[hyphens] = index;
            }
            hyphens += 1;
        } else if !c.is_ascii_hexdigit() {
            return format!(
                "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by \
                 [0-9a-fA-F-], found `{c}` at {}",
                index + offset + 1
            );
        }
    }
    let reason = if hyphens == 0 && simple {
        format!("invalid length: expected length 32 for simple format, found {}", raw.len())
    } else if hyphens != 4 {
        format!("invalid group count: expected 5, found {}", hyphens + 1)
    } else {
        let (group, len) = (0..4)
            .find(|&i| group_ends[i] != GROUP_STARTS[i + 1] - 1)
            .map(|i| (i, group_ends[i] - GROUP_STARTS[i]))
            // Otherwise the last group is too long (measured, as that version does, on the whole input).
            .unwrap_or((4, raw.len().saturating_sub(GROUP_STARTS[4])));
        format!("invalid group length in group {group}: expected {}, found {len}", GROUP_LENGTHS[group])
    };
    format!("Input should be a valid UUID, {reason}")
}

/// A UUID in a request body (`user_id`, `user_ids.0`): a malformed one is refused with pydantic's message
/// and position, like a path parameter. Document the field with `#[schema(value_type = uuid::Uuid)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyUuid(pub uuid::Uuid);

impl<'de> serde::Deserialize<'de> for BodyUuid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = BodyUuid;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(UUID_TYPE)
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<BodyUuid, E> {
                uuid::Uuid::parse_str(s).map(BodyUuid).map_err(|_| E::custom(uuid_message(s)))
            }
        }

        d.deserialize_str(Visitor)
    }
}

/// pydantic's message for a UUID field given something other than a string.
const UUID_TYPE: &str = "UUID input should be a string, bytes or UUID object";

/// A JSON body read but not yet parsed. Extractors run side by side, so a handler taking `AdminUser` and
/// `Json<T>` could answer a bad body's 422 before a normal user's 403; the reference checks permissions
/// first. Such handlers take this instead and call [`LaterJson::parse`] once the caller is known.
#[derive(Debug)]
pub struct LaterJson {
    ctype: String,
    bytes: web::Bytes,
}

impl LaterJson {
    /// Parses the body as `Json<T>` would have.
    pub fn parse<T: Body>(self) -> Result<T, ApiError> {
        from_map::<T>(json_object(&self.ctype, &self.bytes)?)
    }
}

impl FromRequest for LaterJson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<LaterJson, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ctype = content_type(req);
        let payload = payload.take();
        Box::pin(async move { Ok(LaterJson { ctype, bytes: read_body(payload).await? }) })
    }
}

/// What a list endpoint accepts besides `page` and `limit` (reference §8). Implement it on a marker type
/// per list and extract [`List<Spec>`]; document the same parameters with [`PageParams`] and
/// [`SortParams`] (plus the list's own filters) in the handler's `params(...)`.
pub trait ListSpec: 'static {
    /// The columns `sort_by` may name; any other is a 422 naming these. Empty: `sort_by` and `sort_order`
    /// are not read.
    const SORT_COLUMNS: &'static [&'static str] = &[];
    /// Whether `search` is read.
    const SEARCH: bool = false;
    /// The boolean filters read, by query name.
    const FILTERS: &'static [&'static str] = &[];
}

/// A list that is only paged.
#[derive(Debug, Clone, Copy)]
pub struct PageOnly;

impl ListSpec for PageOnly {}

/// The list query of a request (`page`, `limit`, and what `S` allows), every problem reported at once
/// with pydantic's messages. Unknown parameters are ignored, as the reference ignores them.
pub struct List<S> {
    pub query: ListQuery,
    spec: PhantomData<S>,
}

impl<S> std::fmt::Debug for List<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.query.fmt(f)
    }
}

impl<S> std::ops::Deref for List<S> {
    type Target = ListQuery;

    fn deref(&self) -> &ListQuery {
        &self.query
    }
}

impl<S: ListSpec> List<S> {
    /// Reads a query string.
    pub fn parse(query: &str) -> Result<List<S>, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        // The last of repeated parameters counts, as with pydantic.
        let get = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let mut errors: Vec<DomainError> = Vec::new();
        let mut int = |name: &'static str, default: u32| -> i64 {
            get(name).map_or(i64::from(default), |raw| {
                list::parse_int(name, raw).unwrap_or_else(|e| {
                    errors.push(e);
                    1
                })
            })
        };
        let page = int("page", 1);
        let limit = int("limit", list::DEFAULT_LIMIT);
        let page = PageRequest::new(page, limit).unwrap_or_else(|e| {
            errors.extend(e);
            PageRequest::default()
        });
        let mut query = ListQuery { page, ..ListQuery::default() };
        if !S::SORT_COLUMNS.is_empty() {
            if let Some(raw) = get("sort_by") {
                match list::sort_column(raw, S::SORT_COLUMNS) {
                    Ok(column) => query.sort = Some(Sort { column, order: SortOrder::Asc }),
                    Err(e) => errors.push(e),
                }
            }
            if let Some(raw) = get("sort_order") {
                match SortOrder::parse(raw) {
                    Ok(order) => query.order = Some(order),
                    Err(e) => errors.push(e),
                }
            }
            if let (Some(sort), Some(order)) = (&mut query.sort, query.order) {
                sort.order = order;
            }
        }
        if S::SEARCH {
            query.search = get("search").filter(|s| !s.trim().is_empty()).map(str::to_owned);
        }
        for &name in S::FILTERS {
            if let Some(raw) = get(name) {
                match list::parse_bool(name, raw) {
                    Ok(v) => query.filters.push((name, v)),
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty() {
            Ok(List { query, spec: PhantomData })
        } else {
            Err(ApiError::validation(errors.iter().map(domain_item).collect()))
        }
    }
}

impl<S: ListSpec> FromRequest for List<S> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(List::parse(req.query_string()))
    }
}

/// `page` and `limit`, for a list handler's `params(...)`: the schema states the bounds the code enforces.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: `List` reads the values")]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1)]
    page: Option<i32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i32>,
}

/// `sort_order`, for a sortable list's `params(...)`; the list documents its own `sort_by` columns.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: `List` reads the values")]
pub struct SortParams {
    /// `asc` (the default) or `desc`.
    #[param(pattern = "^(asc|desc)$", default = "asc")]
    sort_order: Option<String>,
}

/// Tells an absent field (`None`, with `#[serde(default)]`) from an explicit `null` (`Some(None)`), for
/// partial updates: `#[serde(default, deserialize_with = "crate::validation::nullable")]`.
pub fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Users;

    impl ListSpec for Users {
        const SORT_COLUMNS: &'static [&'static str] = &["created_at", "email"];
        const SEARCH: bool = true;
        const FILTERS: &'static [&'static str] = &["is_active", "is_superuser"];
    }

    fn problems<S: ListSpec + std::fmt::Debug>(query: &str) -> Vec<(String, String)> {
        let e = List::<S>::parse(query).unwrap_err();
        e.errors().iter().map(|i| (i.field.clone().unwrap_or_default(), i.message.to_string())).collect()
    }

    #[test]
    fn list_query_bounds() {
        let q = List::<PageOnly>::parse("").unwrap();
        assert_eq!((q.page.page(), q.page.limit()), (1, 20));
        let q = List::<PageOnly>::parse("page=3&limit=100&sort_by=anything").unwrap();
        assert_eq!((q.page.page(), q.page.limit(), q.sort), (3, 100, None), "undeclared parameters are ignored");
        assert_eq!(
            problems::<PageOnly>("page=0&limit=101"),
            vec![
                ("page".into(), "Input should be greater than or equal to 1".into()),
                ("limit".into(), "Input should be less than or equal to 100".into())
            ]
        );
        for page in ["2147483648", "9223372036854775807", "99999999999999999999999"] {
            assert_eq!(
                problems::<PageOnly>(&format!("page={page}")),
                vec![("page".into(), "Input should be less than or equal to 2147483647".into())]
            );
        }
        assert_eq!(List::<PageOnly>::parse("page=2147483647").unwrap().page.page(), 2_147_483_647);
        assert_eq!(
            problems::<PageOnly>("page=x"),
            vec![("page".into(), "Input should be a valid integer, unable to parse string as an integer".into())]
        );
    }

    #[test]
    fn list_query_sort_search_and_filters() {
        let q = List::<Users>::parse("sort_by=email&sort_order=desc&search=%20ada%20&is_active=false").unwrap();
        assert_eq!(q.sort, Some(Sort { column: "email", order: SortOrder::Desc }));
        assert_eq!(q.search.as_deref(), Some(" ada "));
        assert_eq!((q.filter("is_active"), q.filter("is_superuser")), (Some(false), None));
        assert_eq!(List::<Users>::parse("search=%20").unwrap().search, None, "a blank search is no search");
        assert_eq!(
            problems::<Users>("sort_by=password_hash&sort_order=up&is_superuser=maybe"),
            vec![
                ("sort_by".into(), "Input should be 'created_at' or 'email'".into()),
                ("sort_order".into(), "Input should be 'asc' or 'desc'".into()),
                ("is_superuser".into(), "Input should be a valid boolean, unable to interpret input".into()),
            ]
        );
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
        assert_eq!(
            parse_uuid("id", "0B0F4D8E-54A4-4D2B-9F0E-7C1D2A3B4C5D").unwrap().to_string(),
            "0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d"
        );
    }

    /// pydantic's own messages, as the reference and FastAPI projects' tests record them.
    #[test]
    fn uuid_messages_are_pydantics() {
        let char_at = |c: &str, at: usize| {
            format!(
                "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by \
                 [0-9a-fA-F-], found `{c}` at {at}"
            )
        };
        assert_eq!(uuid_message("not-a-uuid"), char_at("n", 1));
        assert_eq!(uuid_message("me"), char_at("m", 1));
        assert_eq!(uuid_message("3fa85f64-5717-4562-b3fc-2c963f66afaz"), char_at("z", 36));
        assert_eq!(uuid_message("0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5dé"), char_at("é", 37));
        assert_eq!(uuid_message("{0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5x}"), char_at("x", 37));
        assert_eq!(
            uuid_message(""),
            "Input should be a valid UUID, invalid length: expected length 32 for simple format, found 0"
        );
        assert_eq!(
            uuid_message("0b0f4d8e"),
            "Input should be a valid UUID, invalid length: expected length 32 for simple format, found 8"
        );
        assert_eq!(
            uuid_message("0b0f4d8e-54a4"),
            "Input should be a valid UUID, invalid group count: expected 5, found 2"
        );
        assert_eq!(
            uuid_message("0b0f4d8e-54a-4d2b-9f0e-7c1d2a3b4c5d"),
            "Input should be a valid UUID, invalid group length in group 1: expected 4, found 3"
        );
        assert_eq!(
            uuid_message("0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5dd"),
            "Input should be a valid UUID, invalid group length in group 4: expected 12, found 13"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    struct Ids {
        #[expect(dead_code, reason = "only the errors are tested")]
        user_ids: Vec<BodyUuid>,
    }

    impl Body for Ids {
        const REQUIRED: &'static [&'static str] = &["user_ids"];
    }

    #[test]
    fn body_uuids_fail_with_the_position_and_the_path() {
        let e = from_map::<Ids>(
            serde_json::json!({"user_ids": ["0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d", "nope"]})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap_err();
        assert_eq!(e.errors()[0].field.as_deref(), Some("user_ids.1"));
        assert_eq!(e.errors()[0].message, uuid_message("nope"));
        let e = from_map::<Ids>(serde_json::json!({"user_ids": [7]}).as_object().unwrap().clone()).unwrap_err();
        assert_eq!(e.errors()[0].message, "UUID input should be a string, bytes or UUID object");
    }
}
