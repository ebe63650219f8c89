//! Request parsing that answers every malformed input with a 422 (or 413) in the envelope, worded like
//! the reference (pydantic): `Field required`, `JSON decode error`, `Input should be a valid string`, …
//! actix's own `Json`/`Form` extractors are not used: their errors are plain text.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use latchkey_domain::DomainError;
use latchkey_domain::list::{self, ListQuery, PageRequest, Sort, SortOrder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::IntoParams;

use crate::body::{ReadBody, SMALL_BODY_BYTES};
use crate::error::{ApiError, ErrorItem};

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
pub trait Body: DeserializeOwned + Send + 'static {
    /// Required field names.
    const REQUIRED: &'static [&'static str];
    /// Fields holding free text (at any depth below them), where tab, line feed and carriage return, and
    /// bidirectional controls, are allowed. Every other string in a body is single-line display text or an
    /// identifier and may hold neither.
    const FREE_TEXT: &'static [&'static str] = &[];
}

/// A JSON body of type `T`, limited to 10 MiB of bytes actually read.
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
    let known = field_names::<T>();
    let mut found = Findings::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Top { known, required: T::REQUIRED, free_text: T::FREE_TEXT, found: &mut found };
    serde::de::DeserializeSeed::deserialize(top, &mut de).and_then(|()| de.end()).map_err(|_| decode_error())?;
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

/// What the first pass learnt about a body.
#[derive(Debug, Default)]
struct Findings {
    /// Whether the body is a JSON object.
    object: bool,
    /// The known fields present, and whether each was `null`.
    present: Vec<(&'static str, bool)>,
    errors: Vec<ErrorItem>,
}

impl Findings {
    fn report(&mut self, path: &Path<'_>, message: &'static str) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(ErrorItem::validation(Some(path.to_string()), message));
        }
    }
}

/// Where a value sits in the body (`preferences.list.1`), written out only when an error names it.
#[derive(Debug, Clone, Copy)]
enum Path<'p> {
    Field(&'p str),
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Field(name) => f.write_str(name),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}.{index}"),
        }
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(s.into()))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(s.to_owned().into()))
            }
        }

        d.deserialize_str(KeyVisitor)
    }
}

/// The first pass over the whole body: is it an object, and what its known fields hold.
struct Top<'a> {
    /// The fields `T` reads; empty when it does not name them (then every field is checked).
    known: &'static [&'static str],
    required: &'static [&'static str],
    free_text: &'static [&'static str],
    found: &'a mut Findings,
}

impl<'de> serde::de::DeserializeSeed<'de> for Top<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A body that is valid JSON but not an object is read to its end (so that broken JSON is still a decode
/// error) and found not to be one.
impl<'de> serde::de::Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.found.object = true;
        while let Some(Key(key)) = map.next_key()? {
            let name = self.known.iter().chain(self.required).find(|&&k| k == key).copied();
            if name.is_none() && !self.known.is_empty() {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            if let Some(name) = name
                && self.found.present.iter().any(|(seen, _)| *seen == name)
            {
                // Which of two values counts is each parser's own choice: refused rather than guessed.
                self.found.report(&Path::Field(name), DUPLICATE_FIELD);
            }
            let mut values = 0;
            let null = map.next_value_seed(Check {
                path: &Path::Field(&key),
                free_text: self.free_text.contains(&key.as_ref()),
                found: &mut *self.found,
                values: &mut values,
            })?;
            if let Some(name) = name {
                self.found.present.push((name, null));
            }
        }
        Ok(())
    }
}

/// The first pass over a known field's value: every string and key in it is checked, nothing is built.
/// serde_json's recursion limit bounds the depth (beyond it the body is a decode error, as before).
struct Check<'a, 'p> {
    path: &'p Path<'p>,
    free_text: bool,
    found: &'a mut Findings,
    /// Values seen so far in this field.
    values: &'a mut usize,
}

impl Check<'_, '_> {
    /// Counts one more value in the field; past [`MAX_FIELD_VALUES`] the field is refused (once).
    fn count(&mut self) {
        *self.values += 1;
        if *self.values == MAX_FIELD_VALUES + 1 {
            let mut top = self.path;
            while let Path::Key(parent, _) | Path::Index(parent, _) = top {
                top = parent;
            }
            self.found.report(top, TOO_MANY_VALUES);
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Check<'_, '_> {
    /// Whether the value is `null`.
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Check<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, _: bool) -> Result<bool, E> {
        self.count();
        Ok(false)
    }

    fn visit_i64<E>(mut self, _: i64) -> Result<bool, E> {
        self.count();
        Ok(false)
    }

    fn visit_u64<E>(mut self, _: u64) -> Result<bool, E> {
        self.count();
        Ok(false)
    }

    fn visit_f64<E>(mut self, _: f64) -> Result<bool, E> {
        self.count();
        Ok(false)
    }

    fn visit_unit<E>(mut self) -> Result<bool, E> {
        self.count();
        Ok(true)
    }

    fn visit_str<E>(mut self, s: &str) -> Result<bool, E> {
        self.count();
        if let Some(message) = forbidden_in(s, self.free_text) {
            self.found.report(self.path, message);
        }
        Ok(false)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<bool, A::Error> {
        self.count();
        let mut index = 0;
        while seq
            .next_element_seed(Check {
                path: &Path::Index(self.path, index),
                free_text: self.free_text,
                found: &mut *self.found,
                values: &mut *self.values,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(false)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        self.count();
        while let Some(Key(key)) = map.next_key()? {
            // A bad key is reported at its parent and never echoed back; what it holds is not looked at.
            if let Some(message) = forbidden_in_key(&key) {
                self.found.report(self.path, message);
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(Check {
                path: &Path::Key(self.path, &key),
                free_text: self.free_text,
                found: &mut *self.found,
                values: &mut *self.values,
            })?;
        }
        Ok(false)
    }
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

/// At most this many JSON values (strings, numbers, arrays, objects… each counts one) in one known field.
/// A parsed value costs tens of bytes however short its text (`[0,0,0,…]`), so this bounds what parsing
/// a field can build: any `preferences` within its 16 KiB cap holds far fewer.
pub const MAX_FIELD_VALUES: usize = 10_000;

/// Message for a field given twice in one body.
pub const DUPLICATE_FIELD: &str = "Field should be given only once";
/// Message for a field holding more than [`MAX_FIELD_VALUES`] values.
pub const TOO_MANY_VALUES: &str = "Input should hold at most 10000 values";
/// Message for a control character in a single-line string.
pub const CONTROL_IN_TEXT: &str = "String should not contain control characters";
/// Message for a control character other than tab, line feed or carriage return in free text.
pub const CONTROL_IN_FREE_TEXT: &str =
    "String should not contain control characters other than tab, line feed and carriage return";
/// Message for a control character in an object's key (the key is not echoed back).
pub const CONTROL_IN_KEY: &str = "Keys should not contain control characters";
/// Message for a bidirectional control character in a single-line string.
pub const BIDI_IN_TEXT: &str = "String should not contain bidirectional control characters";
/// Message for a bidirectional control character in an object's key.
pub const BIDI_IN_KEY: &str = "Keys should not contain bidirectional control characters";

/// Whether `s` holds an ASCII control character (U+0000–U+001F, U+007F), tab, line feed and carriage
/// return excepted in free text. U+0000 is what PostgreSQL cannot store (text or jsonb); the others
/// have no business in names and identifiers and make log lines and exports lie.
pub fn has_control(s: &str, free_text: bool) -> bool {
    s.bytes().any(|b| (b < 0x20 || b == 0x7f) && !(free_text && matches!(b, b'\t' | b'\n' | b'\r')))
}

/// Whether `s` holds a bidirectional control character (Unicode's `Bidi_Control`: U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069). An override or isolate makes a name display as something it
/// is not (`"\u{202E}nimda"` shows as "admin"), in our pages and in every client that lists it.
pub fn has_bidi_control(s: &str) -> bool {
    let b = s.as_bytes();
    // Each of them is encoded with a lead byte of 0xD8 (U+061C) or 0xE2 (the others).
    memchr::memchr2_iter(0xD8, 0xE2, b).any(|i| {
        matches!(
            &b[i..],
            [0xD8, 0x9C, ..] | [0xE2, 0x80, 0x8E | 0x8F | 0xAA..=0xAE, ..] | [0xE2, 0x81, 0xA6..=0xA9, ..]
        )
    })
}

/// Why a string value may not be stored, if it may not: control characters anywhere (tab, line feed
/// and carriage return excepted in free text); bidirectional controls outside free text.
pub fn forbidden_in(s: &str, free_text: bool) -> Option<&'static str> {
    if has_control(s, free_text) {
        Some(if free_text { CONTROL_IN_FREE_TEXT } else { CONTROL_IN_TEXT })
    } else if !free_text && has_bidi_control(s) {
        Some(BIDI_IN_TEXT)
    } else {
        None
    }
}

/// Why an object key may not be stored, if it may not: keys are identifiers, even inside free text.
fn forbidden_in_key(key: &str) -> Option<&'static str> {
    if has_control(key, false) {
        Some(CONTROL_IN_KEY)
    } else if has_bidi_control(key) {
        Some(BIDI_IN_KEY)
    } else {
        None
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
/// first. Such handlers take this instead and call [`LaterJson::parse`] once the caller is known. The
/// body is read (within its deadline and the budget) like any other, and holds its share of the budget
/// until parsed.
#[derive(Debug)]
pub struct LaterJson {
    ctype: String,
    body: ReadBody,
}

impl LaterJson {
    /// Parses the body as `Json<T>` would have.
    pub async fn parse<T: Body>(self) -> Result<T, ApiError> {
        parse_body(self.body, self.ctype, parse_json::<T>).await
    }
}

impl FromRequest for LaterJson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<LaterJson, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(
            async move { Ok(LaterJson { ctype: content_type(&req), body: crate::body::read(&req, payload).await? }) },
        )
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
