//! Request bodies: the [`Json`] and [`Form`] extractors and [`LaterJson`] (read now, parsed once the
//! caller is authorised), which answer every malformed input with a 422 (or 413, 408) in the envelope,
//! worded like the reference (pydantic): `Field required`, `JSON decode error`, `Input should be a valid
//! string`, … actix's own `Json`/`Form` extractors are not used: their errors are plain text. Bytes are
//! read by `crate::body`; the first pass over them is `extract::scan`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::body::{ReadBody, SMALL_BODY_BYTES};
use crate::error::{ApiError, ErrorItem};
use crate::extract::scan::{MAX_ERRORS, field_names, scan};
use crate::pydantic::pydantic_message;

/// A request body type: the fields that must be present and non-null, checked (all of them, each
/// reported) before serde runs, so a client sees every missing field at once.
pub trait Body: DeserializeOwned + Send + 'static {
    /// Required field names.
    const REQUIRED: &'static [&'static str];
    /// Fields holding free text (at any depth below them), where tab, line feed and carriage return, and
    /// bidirectional controls, are allowed. Every other string in a body is single-line display text or an
    /// identifier and may hold neither.
    const FREE_TEXT: &'static [&'static str] = &[];
}

/// A JSON body of type `T`, limited to 10 MiB of bytes actually read. A handler that checks who is
/// calling before it looks at the body takes [`LaterJson`] instead.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// A form (`application/x-www-form-urlencoded`) body of type `T`.
#[derive(Debug)]
pub struct Form<T>(pub T);

fn not_an_object() -> ApiError {
    ApiError::validation(vec![ErrorItem::validation(
        None,
        "Input should be a valid dictionary or object to extract fields from",
    )])
}

fn decode_error() -> ApiError {
    ApiError::validation(vec![ErrorItem::validation(Some("0".into()), "JSON decode error")])
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Turns a body's bytes (with its content type) into `T`.
type Parser<T> = fn(&str, &[u8]) -> Result<T, ApiError>;

/// Reads the body (within its deadline and the memory budget, see `crate::body`), then parses it.
fn extract<T: Body, W: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    parse: Parser<T>,
    wrap: fn(T) -> W,
) -> Pin<Box<dyn Future<Output = Result<W, ApiError>>>> {
    let req = req.clone();
    let payload = payload.take();
    Box::pin(async move {
        let body = crate::body::read(&req, payload).await?;
        parse_body(body, content_type(&req), parse).await.map(wrap)
    })
}

/// Parses a body read: a small one here, a large one on the blocking pool, so that a big body never
/// stalls the worker (and every other connection on it). The body's share of the budget is held until
/// the parse is over.
async fn parse_body<T: Body>(body: ReadBody, ctype: String, parse: Parser<T>) -> Result<T, ApiError> {
    if body.bytes.len() <= SMALL_BODY_BYTES {
        return parse(&ctype, &body.bytes);
    }
    let bytes = body.bytes.clone();
    let parsed = web::block(move || parse(&ctype, &bytes)).await;
    drop(body);
    parsed.map_err(|e| ApiError::internal(format!("parsing a body on the blocking pool: {e}")))?
}

/// A JSON body's bytes as `T`.
fn parse_json<T: Body>(ctype: &str, bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::validation(vec![ErrorItem::validation(None, "Field required")]));
    }
    // The reference treats a non-JSON content type like a body that is not an object.
    let json_type = ctype.is_empty() || ctype == "application/json" || ctype.ends_with("+json");
    if !json_type {
        return Err(not_an_object());
    }
    // Checked once here, so that no string (skipped ones included) can carry invalid UTF-8.
    let text = std::str::from_utf8(bytes).map_err(|_| decode_error())?;
    from_json::<T>(text)
}

/// A form body's bytes as `T`: its known fields (the last of repeated ones counts) become a small JSON
/// object, which is read as a JSON body is. Unknown fields are never built.
fn parse_form<T: Body>(ctype: &str, bytes: &[u8]) -> Result<T, ApiError> {
    if !bytes.is_empty() && ctype != "application/x-www-form-urlencoded" {
        return Err(not_an_object());
    }
    let known = field_names::<T>();
    let mut fields = serde_json::Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        if known.is_empty() || known.contains(&key.as_ref()) {
            fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    from_json::<T>(&Value::Object(fields).to_string())
}

impl<T: Body> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, parse_json::<T>, Json)
    }
}

impl<T: Body> FromRequest for Form<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, parse_form::<T>, Form)
    }
}

/// A JSON text as `T`, in two passes over it. The first ([`scan`]) checks that it is an object, which
/// required fields are present (and not null), and the strings of the known fields, without building
/// anything; unknown fields are skipped, never checked, never built, whatever they hold (as the
/// reference ignores them, so a client's extra field cannot fail a request that the document allows).
/// Every problem found is reported at once. The second deserialises straight into `T`, with the
/// failing field's path.
fn from_json<T: Body>(text: &str) -> Result<T, ApiError> {
    let mut found = scan(text, field_names::<T>(), T::REQUIRED, T::FREE_TEXT).map_err(|_| decode_error())?;
    if !found.object {
        return Err(not_an_object());
    }
    let mut errors: Vec<ErrorItem> = T::REQUIRED
        .iter()
        .filter_map(|&name| match found.present.iter().find(|(field, _)| *field == name) {
            None => Some(ErrorItem::validation(Some(name.to_owned()), "Field required")),
            Some((_, true)) => Some(ErrorItem::validation(Some(name.to_owned()), "Input should be a valid string")),
            Some((_, false)) => None,
        })
        .collect();
    errors.append(&mut found.errors);
    if !errors.is_empty() {
        // A body full of bad strings gets a bounded answer.
        errors.truncate(MAX_ERRORS);
        return Err(ApiError::validation(errors));
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(|e| {
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
        let inner = e.into_inner();
        // serde_json adds where in the text the error is; the field path says it better.
        let message = inner.to_string();
        let position = format!(" at line {} column {}", inner.line(), inner.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        ApiError::validation(vec![ErrorItem::validation(field, pydantic_message(message))])
    })
}

/// The 422 entries for the fields of a partial update given an explicit `null` where the column cannot be
/// null (the reference answers those with a 500): `(field, is_null, message)`, one entry per null field.
pub fn refuse_nulls(fields: &[(&str, bool, &'static str)]) -> Vec<ErrorItem> {
    fields
        .iter()
        .filter(|(_, is_null, _)| *is_null)
        .map(|&(field, _, message)| ErrorItem::validation(Some(field.to_owned()), message))
        .collect()
}

/// A JSON body read but not yet parsed: the one way a handler checks who is calling before it looks at
/// the body. Extractors run side by side, so a handler taking `AdminUser` and `Json<T>` could answer a
/// bad body's 422 before a normal user's 403; the reference checks permissions first. Such handlers take
/// this instead and call [`LaterJson::parse`] once the caller is known: a body that could not be read
/// (413, 408) or parsed (422) is answered then. The body is read (within its deadline and the budget)
/// like any other, and holds its share of the budget until parsed.
#[derive(Debug)]
pub struct LaterJson {
    ctype: String,
    body: Result<ReadBody, ApiError>,
}

impl LaterJson {
    /// Parses the body as `Json<T>` would have.
    pub async fn parse<T: Body>(self) -> Result<T, ApiError> {
        parse_body(self.body?, self.ctype, parse_json::<T>).await
    }
}

impl FromRequest for LaterJson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<LaterJson, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(
            async move { Ok(LaterJson { ctype: content_type(&req), body: crate::body::read(&req, payload).await }) },
        )
    }
}

/// Tells an absent field (`None`, with `#[serde(default)]`) from an explicit `null` (`Some(None)`), for
/// partial updates: `#[serde(default, deserialize_with = "crate::extract::nullable")]`.
pub fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::BodyUuid;
    use crate::extract::scan::{DUPLICATE_FIELD, MAX_FIELD_VALUES, TOO_MANY_VALUES};
    use crate::input_rules::{
        BIDI_IN_KEY, BIDI_IN_TEXT, CONTROL_IN_FREE_TEXT, CONTROL_IN_KEY, CONTROL_IN_TEXT, has_bidi_control,
    };
    use crate::pydantic::uuid_message;

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
        let body = serde_json::json!({"user_ids": ["0b0f4d8e-54a4-4d2b-9f0e-7c1d2a3b4c5d", "nope"]});
        let e = from_json::<Ids>(&body.to_string()).unwrap_err();
        assert_eq!(e.errors()[0].field.as_deref(), Some("user_ids.1"));
        // The message is the whole of it: serde_json's " at line 1 column N" is taken off.
        assert_eq!(e.errors()[0].message, uuid_message("nope"));
        let e = from_json::<Ids>(r#"{"user_ids": [7]}"#).unwrap_err();
        assert_eq!(e.errors()[0].message, "UUID input should be a string, bytes or UUID object");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Profile {
        first_name: String,
        #[serde(default)]
        last_name: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        notes: Option<Value>,
    }

    impl Body for Profile {
        const REQUIRED: &'static [&'static str] = &["first_name"];
        const FREE_TEXT: &'static [&'static str] = &["notes"];
    }

    fn problems_of(text: &str) -> Vec<(String, String)> {
        let e = from_json::<Profile>(text).unwrap_err();
        e.errors().iter().map(|i| (i.field.clone().unwrap_or_default(), i.message.to_string())).collect()
    }

    fn at(field: &str, message: &str) -> (String, String) {
        (field.to_owned(), message.to_owned())
    }

    #[test]
    fn bodies_keep_their_answers() {
        assert_eq!(problems_of("{"), [at("0", "JSON decode error")]);
        assert_eq!(problems_of(r#"{"first_name": "a"} x"#), [at("0", "JSON decode error")]);
        assert_eq!(problems_of(r#"[1, 2"#), [at("0", "JSON decode error")]);
        let not_object = "Input should be a valid dictionary or object to extract fields from";
        for body in ["[1, {\"a\": 2}]", "\"x\"", "3", "null", "true"] {
            assert_eq!(problems_of(body), [at("", not_object)], "{body}");
        }
        assert_eq!(problems_of("{}"), [at("first_name", "Field required")]);
        assert_eq!(problems_of(r#"{"first_name": null}"#), [at("first_name", "Input should be a valid string")]);
        assert_eq!(problems_of(r#"{"first_name": 1}"#), [at("first_name", "Input should be a valid string")]);
        assert_eq!(
            problems_of(r#"{"first_name": "a", "tags": ["x", 2]}"#),
            [at("tags.1", "Input should be a valid string")]
        );
        assert_eq!(from_json::<Profile>(r#"{"first_name": "a", "tags": ["x"]}"#).unwrap().tags, ["x"]);
        // Every problem at once: a missing field and bad strings, each by its path.
        assert_eq!(
            problems_of(r#"{"last_name": "a\u0000", "tags": ["ok", "b\nc"], "notes": {"k\u0007": 1, "n": "x\u0000"}}"#),
            [
                at("first_name", "Field required"),
                at("last_name", CONTROL_IN_TEXT),
                at("tags.1", CONTROL_IN_TEXT),
                at("notes", CONTROL_IN_KEY),
                at("notes.n", CONTROL_IN_FREE_TEXT),
            ]
        );
        let ok = from_json::<Profile>(r#"{"first_name": "Ada", "notes": {"a": ["line\n\ttwo"]}}"#).unwrap();
        assert_eq!(
            (ok.first_name.as_str(), ok.last_name, ok.notes.unwrap()["a"][0].as_str()),
            ("Ada", None, Some("line\n\ttwo"))
        );
        assert_eq!(problems_of(r#"{"first_name": "a", "first_name": "b"}"#), [at("first_name", DUPLICATE_FIELD)]);
    }

    #[test]
    fn bidirectional_controls_are_refused_outside_free_text() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let name = format!("nimda{c}x");
            assert!(has_bidi_control(&name), "{c:?}");
            let body = serde_json::json!({"first_name": name, "notes": {"rtl": name}}).to_string();
            assert_eq!(problems_of(&body), [at("first_name", BIDI_IN_TEXT)], "{c:?}: free text keeps it");
            let body = serde_json::json!({"first_name": "a", "notes": {name.clone(): 1}}).to_string();
            assert_eq!(problems_of(&body), [at("notes", BIDI_IN_KEY)], "{c:?}: keys are identifiers");
        }
        // Their neighbours are ordinary text.
        for s in ["\u{200D}", "\u{2029}x", "\u{2060}", "\u{202F}", "\u{2065}", "\u{206A}", "\u{061B}", "عربي", "—…€"]
        {
            assert!(!has_bidi_control(s), "{s:?}");
        }
    }

    /// Unknown fields are skipped by the first pass and by serde without being built, whatever they
    /// hold: a 9 MiB one (a string, or an array of a million tiny values, that parsed would cost tens of
    /// bytes each) leaves the known fields' answer as it is.
    #[test]
    fn unknown_huge_fields_are_skipped_unbuilt() {
        let string = format!(r#"{{"padding": "{}", "first_name": "Ada"}}"#, "x".repeat(9 * 1024 * 1024));
        assert_eq!(from_json::<Profile>(&string).unwrap().first_name, "Ada");
        let values = format!(r#"{{"first_name": "Ada", "padding": [{}0]}}"#, "0,".repeat(4 * 1024 * 1024 + 512 * 1024));
        assert!(values.len() > 9 * 1024 * 1024);
        assert_eq!(from_json::<Profile>(&values).unwrap().first_name, "Ada");
        // Never checked either: a NUL or a bidi override in an unknown field is no error.
        assert_eq!(
            from_json::<Profile>(r#"{"first_name": "Ada", "x\u0000": "\u202e\u0000"}"#).unwrap().first_name,
            "Ada"
        );
        // But the text must be JSON throughout.
        assert_eq!(problems_of(r#"{"first_name": "Ada", "padding": [1, }"#), [at("0", "JSON decode error")]);
        assert_eq!(
            parse_json::<Profile>("", b"{\"first_name\": \"Ada\", \"p\": \"\xff\"}").unwrap_err().errors()[0].message,
            "JSON decode error"
        );
    }

    #[test]
    fn a_known_field_holds_a_bounded_number_of_values() {
        let fits = format!(r#"{{"first_name": "Ada", "notes": [{}0]}}"#, "0,".repeat(MAX_FIELD_VALUES - 2));
        assert!(from_json::<Profile>(&fits).is_ok());
        let over = format!(r#"{{"first_name": "Ada", "notes": [{}0]}}"#, "0,".repeat(MAX_FIELD_VALUES - 1));
        assert_eq!(problems_of(&over), [at("notes", TOO_MANY_VALUES)]);
        let nested =
            format!(r#"{{"first_name": "Ada", "notes": {{"a": [{}0]}}}}"#, "[0],".repeat(MAX_FIELD_VALUES / 2));
        assert_eq!(problems_of(&nested), [at("notes", TOO_MANY_VALUES)]);
    }

    #[test]
    fn forms_are_read_like_json() {
        let form = |body: &str| parse_form::<Profile>("application/x-www-form-urlencoded", body.as_bytes());
        assert_eq!(form("first_name=A%20da&first_name=Ada&junk=%00").unwrap().first_name, "Ada");
        let e = form("first_name=A%00da").unwrap_err();
        assert_eq!(e.errors()[0].field.as_deref(), Some("first_name"));
        let e = form("first_name=%E2%80%AEnimda").unwrap_err();
        assert_eq!(e.errors()[0].message, BIDI_IN_TEXT);
        assert_eq!(form("").unwrap_err().errors()[0].message, "Field required");
    }
}
