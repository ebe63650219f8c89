//! The input rules every string a request carries must meet, whatever its place (body field, query
//! parameter, path, header): no ASCII control characters (tab, line feed and carriage return excepted in
//! free text) and no bidirectional controls outside free text. PostgreSQL cannot store U+0000, and no
//! name, identifier, path segment or query parameter of this API is multi-line text. The body
//! extractors (`crate::extract`), the path-and-query middleware (`middleware::control_chars`) and the
//! `X-Device-Id` header apply them; the OpenAPI document states them (`openapi::SINGLE_LINE`).

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
pub fn forbidden_in_key(key: &str) -> Option<&'static str> {
    if has_control(key, false) {
        Some(CONTROL_IN_KEY)
    } else if has_bidi_control(key) {
        Some(BIDI_IN_KEY)
    } else {
        None
    }
}

/// Whether the percent-decoded form of `s` holds an ASCII control character (raw ones cannot reach here:
/// the HTTP parser refuses them in the request line).
pub fn encodes_control(s: &str) -> bool {
    let b = s.as_bytes();
    let is_control = |c: u32| c < 0x20 || c == 0x7f;
    let hex = |c: u8| char::from(c).to_digit(16);
    b.iter().enumerate().any(|(i, &c)| {
        is_control(u32::from(c))
            || (c == b'%'
                && matches!((b.get(i + 1).and_then(|&h| hex(h)), b.get(i + 2).and_then(|&l| hex(l))),
                            (Some(h), Some(l)) if is_control(h * 16 + l)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_encoded_controls_only() {
        for bad in ["%00", "a%0Ab", "x=%1f", "%7F", "%7f&y=1"] {
            assert!(encodes_control(bad), "{bad}");
        }
        for good in ["", "page=2&limit=10", "q=%20a%2Fb%C3%A9", "%", "%0", "%zz", "100%25"] {
            assert!(!encodes_control(good), "{good}");
        }
    }
}
