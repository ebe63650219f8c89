//! UUIDs in requests: path and query parameters ([`parse_uuid`]) and body fields ([`BodyUuid`]), a
//! malformed one refused with pydantic's message and position (`crate::pydantic`).

use crate::error::{ApiError, ErrorItem};
use crate::pydantic::{UUID_TYPE, uuid_message};

/// Parses a UUID path or query parameter, with pydantic's message on failure.
pub fn parse_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map_err(|_| ApiError::validation(vec![ErrorItem::validation(Some(field.to_owned()), uuid_message(raw))]))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
