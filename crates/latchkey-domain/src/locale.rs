//! Locales (the reference's §1.3): a pattern check, then the supported set, stored lower case.

use crate::error::DomainError;

/// Supported locales, lower case, sorted as the reference lists them.
pub const SUPPORTED_LOCALES: &[&str] = &["en", "en-gb", "en-us", "it", "it-it"];

/// Checks `^[a-z]{2}(-[A-Z]{2})?$`, length ≤ 10 and support; returns the lower-case form.
pub fn normalize_locale(raw: &str) -> Result<String, DomainError> {
    if raw.chars().count() > 10 {
        return Err(DomainError::constraint("locale", "String should have at most 10 characters"));
    }
    let b = raw.as_bytes();
    let lang_ok = b.len() >= 2 && b[..2].iter().all(u8::is_ascii_lowercase);
    let pattern_ok = lang_ok
        && match b.len() {
            2 => true,
            5 => b[2] == b'-' && b[3..].iter().all(u8::is_ascii_uppercase),
            _ => false,
        };
    if !pattern_ok {
        return Err(DomainError::constraint("locale", "String should match pattern '^[a-z]{2}(-[A-Z]{2})?$'"));
    }
    let lower = raw.to_ascii_lowercase();
    if !SUPPORTED_LOCALES.contains(&lower.as_str()) {
        let list = SUPPORTED_LOCALES.iter().map(|l| format!("'{l}'")).collect::<Vec<_>>().join(", ");
        return Err(DomainError::invalid("locale", format!("Unsupported locale '{raw}'. Supported locales: [{list}]")));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales() {
        assert_eq!(normalize_locale("it-IT").unwrap(), "it-it");
        assert_eq!(normalize_locale("en").unwrap(), "en");
        assert_eq!(
            normalize_locale("EN").unwrap_err().message(),
            "String should match pattern '^[a-z]{2}(-[A-Z]{2})?$'"
        );
        assert_eq!(
            normalize_locale("en-us").unwrap_err().message(),
            "String should match pattern '^[a-z]{2}(-[A-Z]{2})?$'"
        );
        let e = normalize_locale("fr").unwrap_err();
        assert!(e.is_custom());
        assert_eq!(e.message(), "Unsupported locale 'fr'. Supported locales: ['en', 'en-gb', 'en-us', 'it', 'it-it']");
        // The message repeats what was sent.
        assert_eq!(
            normalize_locale("fr-FR").unwrap_err().message(),
            "Unsupported locale 'fr-FR'. Supported locales: ['en', 'en-gb', 'en-us', 'it', 'it-it']"
        );
        assert_eq!(normalize_locale("en-GB").unwrap(), "en-gb");
        // Length is checked before the pattern, as pydantic does.
        let e = normalize_locale("abcdefghijk").unwrap_err();
        assert_eq!(e.message(), "String should have at most 10 characters");
        assert!(!e.is_custom());
        assert_eq!(e.field(), "locale");
        for bad in ["", "e", "en-", "en-U", "en-USA", "en_US", "én", "en\n", " en"] {
            assert!(!normalize_locale(bad).unwrap_err().is_custom(), "{bad:?}");
        }
    }
}
