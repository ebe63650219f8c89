//! The password policy, exactly as the reference enforces it (its §4.5), messages included.

use std::fmt;

use crate::error::DomainError;

/// Characters that count as "special".
pub const SPECIAL_CHARACTERS: &str = "!@#$%^&*()_+-=[]{}|;:,.<>?~`";
/// Minimum length in characters.
pub const MIN_LENGTH: usize = 12;
/// Maximum length in characters (Django's cap): no one types more, and a password is held and hashed
/// whole, so an unbounded one is a way to make the server hold and hash megabytes.
pub const MAX_LENGTH: usize = 4096;

/// Whether `pw` could be anyone's password: at most [`MAX_LENGTH`] characters. A login or a current
/// password longer than that is wrong without being hashed.
pub fn within_max_length(pw: &str) -> bool {
    // Bytes first: a string of at most MAX_LENGTH bytes has at most MAX_LENGTH characters.
    pw.len() <= MAX_LENGTH || pw.chars().nth(MAX_LENGTH).is_none()
}

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "password1234",
    "admin",
    "admin123",
    "admin1234",
    "welcome",
    "welcome1",
    "welcome123",
    "qwerty",
    "qwerty123",
    "12345678",
    "123456789",
    "1234567890",
    "letmein",
    "letmein1",
    "letmein123",
    "monkey123",
    "dragon123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
];

/// Checks a new password against the policy; the error's field is `password`.
pub fn validate_password(pw: &str) -> Result<(), DomainError> {
    validate_password_as("password", pw)
}

/// [`validate_password`] for a password submitted under another name (`new_password`): the error's field
/// is `field`.
pub fn validate_password_as(field: &'static str, pw: &str) -> Result<(), DomainError> {
    if !within_max_length(pw) {
        return Err(DomainError::constraint(field, format!("String should have at most {MAX_LENGTH} characters")));
    }
    if pw.chars().count() < MIN_LENGTH {
        return Err(DomainError::invalid(field, "Password must be at least 12 characters long"));
    }
    if COMMON.contains(&pw.to_lowercase().as_str()) {
        return Err(DomainError::invalid(field, "Password is too common. Please choose a stronger password"));
    }
    let mut missing = Vec::new();
    if !pw.chars().any(char::is_lowercase) {
        missing.push("at least one lowercase letter".to_owned());
    }
    if !pw.chars().any(char::is_uppercase) {
        missing.push("at least one uppercase letter".to_owned());
    }
    if !pw.chars().any(char::is_numeric) {
        missing.push("at least one digit".to_owned());
    }
    if !pw.chars().any(|c| SPECIAL_CHARACTERS.contains(c)) {
        missing.push(format!("at least one special character ({SPECIAL_CHARACTERS})"));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid(field, format!("Password must contain {}", missing.join(", "))))
    }
}

/// A password in transit: never printed.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }

    /// The password itself, for hashing or verifying.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(pw: &str) -> String {
        validate_password(pw).unwrap_err().message().to_owned()
    }

    #[test]
    fn policy_matches_the_reference() {
        assert_eq!(msg("Short1!"), "Password must be at least 12 characters long");
        assert_eq!(msg("Password1234"), "Password is too common. Please choose a stronger password");
        assert_eq!(
            msg("alllowercase"),
            "Password must contain at least one uppercase letter, at least one digit, at least one special character \
             (!@#$%^&*()_+-=[]{}|;:,.<>?~`)"
        );
        assert_eq!(msg("NoDigitsHere!x"), "Password must contain at least one digit");
        assert_eq!(msg("PASSWORD1234"), "Password is too common. Please choose a stronger password");
        assert_eq!(msg("ALLUPPERCASE-1"), "Password must contain at least one lowercase letter");
        // Length counts characters, not bytes.
        assert_eq!(msg("Ünïcödé-Pä1"), "Password must be at least 12 characters long");
        assert!(validate_password("Correct-Horse-9").is_ok());
        assert!(validate_password("Ünïcödé-Pässw0rd").is_ok());
        let e = validate_password("short").unwrap_err();
        assert_eq!(e.field(), "password");
        assert!(e.is_custom(), "the HTTP layer prefixes 'Value error, '");
        let pw = Password::new("hunter2");
        assert_eq!(format!("{pw:?}"), "Password(***)");
        assert_eq!(pw.expose(), "hunter2");
    }

    #[test]
    fn a_password_is_at_most_4096_characters() {
        let longest = format!("Aa1!{}", "é".repeat(MAX_LENGTH - 4));
        assert!(within_max_length(&longest) && validate_password(&longest).is_ok(), "counted in characters");
        let longer = format!("{longest}x");
        assert!(!within_max_length(&longer));
        let e = validate_password(&longer).unwrap_err();
        assert_eq!(
            (e.field(), e.message(), e.is_custom()),
            ("password", "String should have at most 4096 characters", false)
        );
        assert!(!within_max_length(&"x".repeat(8 << 20)));
    }
}
