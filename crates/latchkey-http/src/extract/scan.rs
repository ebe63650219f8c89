//! The first pass over a JSON body, before serde builds anything: whether it is an object, which known
//! fields are present (and null), and every string and key in them checked against the input rules
//! (`crate::input_rules`), each problem reported by its path. Unknown fields are skipped, never checked,
//! never built. The extractors (`extract::body`) run it, then deserialise.

use serde::de::DeserializeOwned;

use crate::error::ErrorItem;
use crate::input_rules::{forbidden_in, forbidden_in_key};

/// What the first pass learnt about a body.
#[derive(Debug, Default)]
pub struct Findings {
    /// Whether the body is a JSON object.
    pub object: bool,
    /// The known fields present, and whether each was `null`.
    pub present: Vec<(&'static str, bool)>,
    /// The strings refused, fields given twice or holding too many values (at most [`MAX_ERRORS`]).
    pub errors: Vec<ErrorItem>,
}

/// The first pass over a JSON text: is it an object, which of the fields `known` (every field when it is
/// empty) and `required` are present and null, and what their strings hold (`free_text` names the fields
/// where line breaks are allowed). Fails only when the text is not JSON.
pub fn scan(
    text: &str,
    known: &'static [&'static str],
    required: &'static [&'static str],
    free_text: &'static [&'static str],
) -> Result<Findings, serde_json::Error> {
    let mut found = Findings::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Top { known, required, free_text, found: &mut found };
    serde::de::DeserializeSeed::deserialize(top, &mut de).and_then(|()| de.end())?;
    Ok(found)
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
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
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
pub const MAX_ERRORS: usize = 50;

/// At most this many JSON values (strings, numbers, arrays, objects… each counts one) in one known field.
/// A parsed value costs tens of bytes however short its text (`[0,0,0,…]`), so this bounds what parsing
/// a field can build: any `preferences` within its 16 KiB cap holds far fewer.
pub const MAX_FIELD_VALUES: usize = 10_000;

/// Message for a field given twice in one body.
pub const DUPLICATE_FIELD: &str = "Field should be given only once";
/// Message for a field holding more than [`MAX_FIELD_VALUES`] values.
pub const TOO_MANY_VALUES: &str = "Input should hold at most 10000 values";
