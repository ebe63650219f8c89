//! Email addresses: parsed once, normalised to lower case (Latchkey treats emails case-insensitively).

use std::fmt;

use crate::error::DomainError;

const PREFIX: &str = "value is not a valid email address: ";

/// A syntactically valid, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

fn bad(why: &str) -> DomainError {
    DomainError::constraint("email", format!("{PREFIX}{why}"))
}

impl Email {
    /// Parses and normalises an address, with email-validator's messages on failure.
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        let s = raw.trim();
        if s.len() > 254 {
            return Err(bad("The email address is too long (254 characters at most)."));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(bad("An email address must have an @-sign."));
        };
        if local.is_empty() {
            return Err(bad("There must be something before the @-sign."));
        }
        if domain.is_empty() {
            return Err(bad("There must be something after the @-sign."));
        }
        if local.contains('@') {
            return Err(bad("The part before the @-sign contains invalid characters: '@'."));
        }
        if local.chars().count() > 64 {
            return Err(bad("The email address is too long before the @-sign."));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad("The part before the @-sign has a period in the wrong place."));
        }
        if let Some(c) = local.chars().find(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[\\]".contains(*c)) {
            return Err(bad(&format!("The part before the @-sign contains invalid characters: '{c}'.")));
        }
        let domain = domain.to_ascii_lowercase();
        if !domain.contains('.') {
            return Err(bad("The part after the @-sign is not valid. It should have a period."));
        }
        for label in domain.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(bad("The part after the @-sign is not valid."));
            }
        }
        if domain.rsplit('.').next().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return Err(bad("The part after the @-sign is not valid. It is not within a valid top-level domain."));
        }
        Ok(Email(format!("{}@{domain}", local.to_lowercase())))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_lower_case() {
        assert_eq!(Email::parse("  Ada.Lovelace@Example.COM ").unwrap().as_str(), "ada.lovelace@example.com");
        assert_eq!(Email::parse("a+tag@sub.example.co.uk").unwrap().as_str(), "a+tag@sub.example.co.uk");
    }

    #[test]
    fn rejects_with_email_validator_messages() {
        let msg = |s: &str| Email::parse(s).unwrap_err().message().to_owned();
        assert_eq!(msg("no-at-sign"), "value is not a valid email address: An email address must have an @-sign.");
        assert_eq!(
            msg("@example.com"),
            "value is not a valid email address: There must be something before the @-sign."
        );
        assert_eq!(
            msg("a@localhost"),
            "value is not a valid email address: The part after the @-sign is not valid. It should have a period."
        );
        assert!(Email::parse("a@-x.com").is_err());
        assert!(Email::parse("a b@x.com").is_err());
        assert!(Email::parse("a..b@x.com").is_err());
        assert!(Email::parse("a@x.123").is_err());
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(65))).is_err());
        assert!(!Email::parse("x").unwrap_err().is_custom());
    }
}
