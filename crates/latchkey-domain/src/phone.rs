//! Phone numbers (the reference's §4.6): separators are removed and the cleaned value is stored.

use crate::error::DomainError;

/// Cleans and checks a phone number: `+` or `0` followed by 8 to 14 digits, after removing white space,
/// `-`, `(` and `)`.
pub fn normalize_phone(raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("phone_number", "Phone number cannot be empty"));
    }
    let cleaned: String = raw.chars().filter(|c| !(c.is_whitespace() || matches!(c, '-' | '(' | ')'))).collect();
    let digits = cleaned.strip_prefix('+').or_else(|| cleaned.strip_prefix('0'));
    let ok = digits.is_some_and(|d| (8..=14).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(cleaned)
    } else {
        Err(DomainError::invalid("phone_number", "Phone number must start with + or 0 followed by 8-14 digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_checks() {
        assert_eq!(normalize_phone("+1 (555) 123-4567").unwrap(), "+15551234567");
        assert_eq!(normalize_phone("0612345678").unwrap(), "0612345678");
        assert_eq!(normalize_phone("+39 02-1234-5678").unwrap(), "+390212345678");
        assert_eq!(normalize_phone("+12345678").unwrap(), "+12345678");
        assert_eq!(normalize_phone("+12345678901234").unwrap(), "+12345678901234");
        let e = normalize_phone("  ").unwrap_err();
        assert_eq!(e.message(), "Phone number cannot be empty");
        assert_eq!(e.field(), "phone_number");
        assert!(e.is_custom());
        assert_eq!(normalize_phone("").unwrap_err().message(), "Phone number cannot be empty");
        for bad in
            ["12345678", "+1234567", "+123456789012345", "+12345678a", "++12345678", "+1234.5678", "+１２３４５６７８"]
        {
            assert_eq!(
                normalize_phone(bad).unwrap_err().message(),
                "Phone number must start with + or 0 followed by 8-14 digits",
                "{bad}"
            );
        }
    }
}
