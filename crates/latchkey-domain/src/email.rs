//! Email addresses: parsed once, normalised to Unicode NFC and lower case (Latchkey treats emails
//! case-insensitively, and canonically equivalent spellings as one address).
//!
//! The rules and messages follow what the reference accepts through pydantic's `EmailStr`, which calls
//! email-validator 2 without deliverability checks: the checks run in the same order and fail with the same
//! words, prefixed `"value is not a valid email address: "`. Differences, all deliberate: the whole address
//! is lower-cased (the reference keeps the local part's case), internationalised domain names are refused
//! (the reference converts them with IDNA, which needs Unicode tables this crate does not carry), and for
//! non-ASCII local parts the "unsafe character" check approximates Unicode's categories.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

use crate::error::DomainError;

const PREFIX: &str = "value is not a valid email address: ";
/// pydantic refuses longer input before parsing it.
const INPUT_MAX: usize = 2048;
const EMAIL_MAX: usize = 254;
const LOCAL_MAX: usize = 64;
const DOMAIN_MAX: usize = 253;
const LABEL_MAX: usize = 63;
/// email-validator's special-use names: no address under them can receive mail from the internet.
const SPECIAL_USE_DOMAINS: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];
/// RFC 5322 `atext` besides letters and digits.
const ATEXT_SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~";

/// A syntactically valid, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

fn bad(why: impl fmt::Display) -> DomainError {
    // pydantic raises these as `PydanticCustomError`, so the HTTP layer must not add "Value error, ".
    DomainError::constraint("email", format!("{PREFIX}{why}"))
}

impl Email {
    /// Parses and normalises an address, with email-validator's messages on failure.
    ///
    /// `"Ada <ada@example.com>"` is accepted as `ada@example.com`, as pydantic does.
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        if raw.chars().count() > INPUT_MAX {
            return Err(bad(format_args!("Length must not exceed {INPUT_MAX} characters")));
        }
        let addr = strip_display_name(raw).unwrap_or(raw).trim();
        let (local, domain) = split_at_sign(addr)?;

        if let Some(quoted) = local.strip_prefix('"') {
            return Err(quoted_local_part_error(quoted));
        }
        // Normalised (NFC, lower case) before the checks, so that the stored form is the one that meets
        // the length limits, and so that one address typed with composed or decomposed characters
        // (`é` as U+00E9 or as `e` + U+0301) is one account. NFC again after lower-casing, which is not
        // guaranteed to keep a string in NFC.
        let local: String = local.nfc().collect::<String>().to_lowercase().nfc().collect();
        check_local_part(&local)?;

        if domain.is_empty() {
            return Err(bad("There must be something after the @-sign."));
        }
        if domain.starts_with('[') && domain.ends_with(']') {
            return Err(bad("A bracketed IP address after the @-sign is not allowed here."));
        }
        let domain = check_domain(domain)?;

        let email = format!("{local}@{domain}");
        check_total_length(&email)?;
        Ok(Email(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Takes the string out.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// pydantic's "pretty email" form, `Display Name <address>` or `"Quoted Name" <address>`: returns the
/// address inside the angle brackets, or `None` when the input is not in that form.
fn strip_display_name(raw: &str) -> Option<&str> {
    let s = raw.trim().strip_suffix('>')?;
    let (name, addr) = s.split_once('<')?;
    let name = name.trim();
    let name_ok = name.is_empty()
        || (name.len() >= 3 && name.starts_with('"') && name.ends_with('"'))
        || name
            .split_whitespace()
            .all(|word| word.chars().all(|c| c.is_alphanumeric() || c == '_' || ATEXT_SYMBOLS.contains(c)));
    (name_ok && !addr.is_empty() && !addr.contains('\n')).then_some(addr)
}

/// Splits at the first `@` outside a quoted string, as email-validator does; a second `@` therefore lands
/// in the domain and is reported there.
fn split_at_sign(addr: &str) -> Result<(&str, &str), DomainError> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in addr.char_indices() {
        if in_quote {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => in_quote = false,
                _ => escaped = false,
            }
        } else if c == '"' {
            in_quote = true;
            escaped = false;
        } else if c == '@' {
            return Ok((&addr[..i], &addr[i + 1..]));
        }
    }
    Err(bad("An email address must have an @-sign."))
}

/// The error for a quoted local part (`"john doe"@example.com`), which pydantic's settings refuse; `rest`
/// follows the opening quote.
fn quoted_local_part_error(rest: &str) -> DomainError {
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        if escaped {
            value.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let extra = &rest[i + 1..];
            if !extra.is_empty() {
                let shown: Vec<String> = extra.chars().map(display_char).collect();
                return bad(format_args!("Extra character(s) found after close quote: {}", shown.join(", ")));
            }
            break;
        } else {
            value.push(c);
        }
    }
    if value.is_empty() {
        return bad("There must be something before the @-sign.");
    }
    let len = value.chars().count();
    if len > LOCAL_MAX {
        return bad(format_args!(
            "The email address is too long before the @-sign {}.",
            too_many(len - LOCAL_MAX, false)
        ));
    }
    let invalid = sorted_display(value.chars().filter(|c| c.is_ascii() && !(' '..='~').contains(c)));
    if !invalid.is_empty() {
        return bad(format_args!(
            "The email address contains invalid characters in quotes before the @-sign: {invalid}."
        ));
    }
    bad("Quoting the part before the @-sign is not allowed here.")
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || ATEXT_SYMBOLS.contains(c) || !c.is_ascii()
}

fn check_local_part(local: &str) -> Result<(), DomainError> {
    if local.is_empty() {
        return Err(bad("There must be something before the @-sign."));
    }
    let len = local.chars().count();
    if len > LOCAL_MAX {
        return Err(bad(format_args!(
            "The email address is too long before the @-sign {}.",
            too_many(len - LOCAL_MAX, false)
        )));
    }
    let dot_atom = local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext));
    if dot_atom {
        return if local.is_ascii() { Ok(()) } else { check_unsafe_chars(local) };
    }
    let invalid = sorted_display(local.chars().filter(|&c| c != '.' && !is_atext(c)));
    if !invalid.is_empty() {
        return Err(bad(format_args!("The email address contains invalid characters before the @-sign: {invalid}.")));
    }
    if local.ends_with('.') {
        return Err(bad("An email address cannot have a period immediately before the @-sign."));
    }
    if local.starts_with('.') {
        return Err(bad("An email address cannot start with a period."));
    }
    Err(bad("An email address cannot have two periods in a row."))
}

/// Checks the domain and returns it lower-cased.
fn check_domain(domain: &str) -> Result<String, DomainError> {
    let invalid = sorted_display(domain.chars().filter(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.')));
    if !invalid.is_empty() {
        return Err(bad(format_args!("The part after the @-sign contains invalid characters: {invalid}.")));
    }
    let domain = domain.to_ascii_lowercase();
    let rule = if domain.ends_with('.') {
        Some("An email address cannot end with a period.")
    } else if domain.starts_with('.') {
        Some("An email address cannot have a period immediately after the @-sign.")
    } else if domain.contains("..") {
        Some("An email address cannot have two periods in a row.")
    } else if domain.ends_with('-') {
        Some("An email address cannot end with a hyphen.")
    } else if domain.starts_with('-') {
        Some("An email address cannot have a hyphen immediately after the @-sign.")
    } else if domain.contains(".-") || domain.contains("-.") {
        Some("An email address cannot have a period and a hyphen next to each other.")
    } else if domain.split('.').any(|l| l.get(2..4) == Some("--") && !l.starts_with("xn")) {
        Some(
            "An email address cannot have two letters followed by two dashes immediately after the @-sign or \
             after a period, except Punycode.",
        )
    } else {
        None
    };
    if let Some(rule) = rule {
        return Err(bad(rule));
    }
    if domain.len() > DOMAIN_MAX {
        return Err(bad(format_args!(
            "The email address is too long after the @-sign {}.",
            too_many(domain.len() - DOMAIN_MAX, false)
        )));
    }
    if let Some(label) = domain.split('.').find(|l| l.len() > LABEL_MAX) {
        return Err(bad(format_args!(
            "After the @-sign, periods cannot be separated by so many characters {}.",
            too_many(label.len() - LABEL_MAX, false)
        )));
    }
    if !domain.contains('.') {
        return Err(bad("The part after the @-sign is not valid. It should have a period."));
    }
    if !domain.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("The part after the @-sign is not valid. It is not within a valid top-level domain."));
    }
    let special = SPECIAL_USE_DOMAINS
        .iter()
        .any(|d| domain.strip_suffix(d).is_some_and(|head| head.is_empty() || head.ends_with('.')));
    if special {
        return Err(bad("The part after the @-sign is a special-use or reserved name that cannot be used with email."));
    }
    Ok(domain)
}

fn check_total_length(email: &str) -> Result<(), DomainError> {
    let chars = email.chars().count();
    if chars > EMAIL_MAX {
        return Err(bad(format_args!(
            "The email address is too long {}.",
            too_many(chars - EMAIL_MAX, !email.is_ascii())
        )));
    }
    if email.len() > EMAIL_MAX {
        return Err(bad("The email address is too long (when encoded in bytes)."));
    }
    Ok(())
}

/// email-validator's "(N characters too many)".
fn too_many(n: usize, at_least: bool) -> String {
    let prefix = if at_least { "at least " } else { "" };
    let plural = if n > 1 { "s" } else { "" };
    format!("({prefix}{n} character{plural} too many)")
}

/// Characters that are allowed in an internationalised local part by the grammar but are unsafe to show
/// (white space, controls, format and private-use characters, a leading combining mark).
fn check_unsafe_chars(local: &str) -> Result<(), DomainError> {
    let mut unsafe_chars: Vec<char> = local
        .chars()
        .enumerate()
        .filter(|&(i, c)| {
            c.is_whitespace() || c.is_control() || is_format_or_private(c) || (i == 0 && is_combining_mark(c))
        })
        .map(|(_, c)| c)
        .collect();
    if unsafe_chars.is_empty() {
        return Ok(());
    }
    unsafe_chars.sort_unstable();
    unsafe_chars.dedup();
    let shown: Vec<String> = unsafe_chars.into_iter().map(display_char).collect();
    Err(bad(format_args!("The email address contains unsafe characters: {}.", shown.join(", "))))
}

/// Unicode's format (Cf), private-use (Co) and noncharacter code points, from a short table: enough to
/// catch the characters used to disguise an address (bidirectional overrides, zero-width characters).
fn is_format_or_private(c: char) -> bool {
    matches!(
        u32::from(c),
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xE000..=0xF8FF
            | 0xFDD0..=0xFDEF
            | 0xE0001
            | 0xE0020..=0xE007F
            | 0xF0000..
    ) || u32::from(c) & 0xFFFE == 0xFFFE
}

fn is_combining_mark(c: char) -> bool {
    matches!(u32::from(c), 0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// How email-validator shows a character in a message: Python's `repr` for visible characters, the
/// character's name for a space, `U+XXXX` otherwise.
fn display_char(c: char) -> String {
    match c {
        '\\' => "\"\\\"".to_owned(),
        '\'' => "\"'\"".to_owned(),
        ' ' => "SPACE".to_owned(),
        '\u{A0}' => "NO-BREAK SPACE".to_owned(),
        c if c.is_whitespace() || c.is_control() || is_format_or_private(c) => format!("U+{:04X}", u32::from(c)),
        c => format!("'{c}'"),
    }
}

/// The distinct characters as shown, sorted as email-validator sorts them (by their shown form).
fn sorted_display(chars: impl Iterator<Item = char>) -> String {
    let mut shown: Vec<String> = chars.map(display_char).collect();
    shown.sort_unstable();
    shown.dedup();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> String {
        let e = Email::parse(s).unwrap_err();
        assert_eq!(e.field(), "email");
        assert!(!e.is_custom(), "email errors carry no 'Value error, ' prefix");
        e.message().strip_prefix(PREFIX).expect("prefixed").to_owned()
    }

    fn ok(s: &str) -> String {
        Email::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).into_string()
    }

    #[test]
    fn normalises_to_lower_case() {
        assert_eq!(ok("  Ada.Lovelace@Example.COM "), "ada.lovelace@example.com");
        assert_eq!(ok("a+tag@sub.example.co.uk"), "a+tag@sub.example.co.uk");
        assert_eq!(ok("o'brien_{x}~!#$%&*/=?^`|-@ex-ample.com"), "o'brien_{x}~!#$%&*/=?^`|-@ex-ample.com");
        assert_eq!(ok("Jörg@example.com"), "jörg@example.com");
        assert_eq!(ok("a@xn--bcher-kva.de"), "a@xn--bcher-kva.de");
        let email = Email::parse("A@B.io").unwrap();
        assert_eq!(email.to_string(), "a@b.io");
        assert_eq!(email.as_ref(), "a@b.io");
    }

    #[test]
    fn composed_and_decomposed_spellings_are_one_address() {
        let composed = "jos\u{e9}@example.com";
        let decomposed = "jose\u{301}@example.com";
        assert_ne!(composed, decomposed);
        assert_eq!(ok(decomposed), composed);
        assert_eq!(ok(composed), composed);
        assert_eq!(ok("JOSE\u{301}@example.com"), composed, "upper case and decomposed");
        // A composed character counts once against the length limits, however it was typed.
        let long = format!("{}@example.com", "e\u{301}".repeat(LOCAL_MAX));
        assert_eq!(ok(&long).chars().count(), LOCAL_MAX + "@example.com".len());
    }

    #[test]
    fn accepts_pydantic_display_name_form() {
        assert_eq!(ok("Ada Lovelace <Ada@Example.com>"), "ada@example.com");
        assert_eq!(ok("\"Lovelace, Ada\" <ada@example.com>"), "ada@example.com");
        assert_eq!(ok("<ada@example.com>"), "ada@example.com");
        // Not pydantic's name syntax, so the whole string is parsed as an address.
        assert_eq!(
            msg("Ada, Lovelace <ada@example.com>"),
            "The email address contains invalid characters before the @-sign: ',', '<', SPACE."
        );
    }

    #[test]
    fn at_sign_messages() {
        assert_eq!(msg("no-at-sign"), "An email address must have an @-sign.");
        assert_eq!(msg(""), "An email address must have an @-sign.");
        assert_eq!(msg("@example.com"), "There must be something before the @-sign.");
        assert_eq!(msg("a@"), "There must be something after the @-sign.");
        assert_eq!(msg("a@b@example.com"), "The part after the @-sign contains invalid characters: '@'.");
    }

    #[test]
    fn local_part_messages() {
        assert_eq!(msg("a b@x.com"), "The email address contains invalid characters before the @-sign: SPACE.");
        assert_eq!(
            msg("a(b),c\\d@x.com"),
            "The email address contains invalid characters before the @-sign: \"\\\", '(', ')', ','."
        );
        assert_eq!(msg("a\tb@x.com"), "The email address contains invalid characters before the @-sign: U+0009.");
        assert_eq!(msg(".a@x.com"), "An email address cannot start with a period.");
        assert_eq!(msg("a.@x.com"), "An email address cannot have a period immediately before the @-sign.");
        assert_eq!(msg("a..b@x.com"), "An email address cannot have two periods in a row.");
        assert_eq!(
            msg(&format!("{}@x.com", "a".repeat(65))),
            "The email address is too long before the @-sign (1 character too many)."
        );
        assert_eq!(
            msg(&format!("{}@x.com", "a".repeat(70))),
            "The email address is too long before the @-sign (6 characters too many)."
        );
        assert_eq!(msg("\"john doe\"@x.com"), "Quoting the part before the @-sign is not allowed here.");
        assert_eq!(msg("\"\"@x.com"), "There must be something before the @-sign.");
        assert_eq!(msg("\"a\"b@x.com"), "Extra character(s) found after close quote: 'b'");
        assert_eq!(msg("\u{202E}moc@x.com"), "The email address contains unsafe characters: U+202E.");
        assert_eq!(msg("a\u{3000}b@x.com"), "The email address contains unsafe characters: U+3000.");
    }

    #[test]
    fn domain_messages() {
        assert_eq!(msg("a@localhost"), "The part after the @-sign is not valid. It should have a period.");
        assert_eq!(
            msg("a@x.123"),
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
        );
        assert_eq!(
            msg("a@x.co1"),
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
        );
        assert_eq!(msg("a@x_y.com"), "The part after the @-sign contains invalid characters: '_'.");
        assert_eq!(msg("a@bücher.de"), "The part after the @-sign contains invalid characters: 'ü'.");
        assert_eq!(msg("a@x.com."), "An email address cannot end with a period.");
        assert_eq!(msg("a@.x.com"), "An email address cannot have a period immediately after the @-sign.");
        assert_eq!(msg("a@x..com"), "An email address cannot have two periods in a row.");
        assert_eq!(msg("a@-x.com"), "An email address cannot have a hyphen immediately after the @-sign.");
        assert_eq!(msg("a@x.com-"), "An email address cannot end with a hyphen.");
        assert_eq!(msg("a@x-.com"), "An email address cannot have a period and a hyphen next to each other.");
        assert_eq!(
            msg("a@ab--c.com"),
            "An email address cannot have two letters followed by two dashes immediately after the @-sign or after \
             a period, except Punycode."
        );
        assert_eq!(msg("a@[127.0.0.1]"), "A bracketed IP address after the @-sign is not allowed here.");
        for special in ["a@x.localhost", "a@printer.local", "a@x.test", "a@nothing.invalid", "a@1.0.in-addr.arpa"] {
            assert_eq!(
                msg(special),
                "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
                "{special}"
            );
        }
        assert_eq!(ok("a@test.com"), "a@test.com");
        assert_eq!(ok("a@example.com"), "a@example.com");
    }

    #[test]
    fn length_limits() {
        let label = "a".repeat(64);
        assert_eq!(
            msg(&format!("a@{label}.com")),
            "After the @-sign, periods cannot be separated by so many characters (1 character too many)."
        );
        let long_domain = format!("{}.com", vec!["b".repeat(63); 4].join("."));
        assert_eq!(long_domain.len(), 259);
        assert_eq!(
            msg(&format!("a@{long_domain}")),
            "The email address is too long after the @-sign (6 characters too many)."
        );
        // 64 + 1 + 191 = 256 characters: each part is fine, the whole is 2 too long.
        let domain = format!("{}.{}.{}.com", "c".repeat(63), "c".repeat(63), "c".repeat(59));
        assert_eq!(domain.len(), 191);
        assert_eq!(
            msg(&format!("{}@{domain}", "a".repeat(64))),
            "The email address is too long (2 characters too many)."
        );
        let just_fits = format!("{}@{}", "a".repeat(64), &domain[2..]);
        assert_eq!(just_fits.len(), 254);
        assert_eq!(ok(&just_fits), just_fits);
        assert_eq!(msg(&"a".repeat(2049)), "Length must not exceed 2048 characters");
    }
}
