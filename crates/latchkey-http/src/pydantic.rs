//! The reference's wording: the reference is a FastAPI service, so its 422s carry pydantic's messages
//! (`Input should be a valid string`, `Value error, …`, `Input should be a valid UUID, …`). Here they are
//! produced from serde's errors, the domain's rule failures and the `uuid` crate's diagnosis, as plain
//! text; the envelope entries are built in `crate::error` and the extractors.

use latchkey_domain::DomainError;

/// A domain rule's failure as pydantic words it: custom validators' messages get pydantic's
/// `"Value error, "` prefix; built-in constraint messages (pattern, length) do not.
pub fn domain_message(e: &DomainError) -> String {
    if e.is_custom() { format!("Value error, {}", e.message()) } else { e.message().to_owned() }
}

/// Words serde's type errors the way pydantic does.
pub fn pydantic_message(serde: &str) -> String {
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

/// pydantic's message for a UUID field given something other than a string.
pub const UUID_TYPE: &str = "UUID input should be a string, bytes or UUID object";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_read_like_pydantic() {
        assert_eq!(pydantic_message("invalid type: integer `1`, expected a string"), "Input should be a valid string");
        assert_eq!(
            pydantic_message("invalid type: string \"x\", expected a boolean"),
            "Input should be a valid boolean"
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
}
