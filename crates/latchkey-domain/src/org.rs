//! Organizations: roles, slugs and names (the reference's §1.6).

use crate::error::DomainError;
use crate::session::string_enum;

string_enum! {
    /// A member's role in an organization.
    Role {
        Owner => "owner",
        Admin => "admin",
        Member => "member",
        Guest => "guest",
    }
}

/// Checks a slug: 1..255 characters of `[a-z0-9-]`, no hyphen at either end, no `--`.
pub fn validate_slug(raw: &str) -> Result<String, DomainError> {
    if raw.is_empty() {
        return Err(DomainError::constraint("slug", "String should have at least 1 character"));
    }
    if raw.chars().count() > 255 {
        return Err(DomainError::constraint("slug", "String should have at most 255 characters"));
    }
    if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(DomainError::invalid("slug", "Slug must contain only lowercase letters, numbers, and hyphens"));
    }
    if raw.starts_with('-') || raw.ends_with('-') {
        return Err(DomainError::invalid("slug", "Slug cannot start or end with a hyphen"));
    }
    if raw.contains("--") {
        return Err(DomainError::invalid("slug", "Slug cannot contain consecutive hyphens"));
    }
    Ok(raw.to_owned())
}

/// Checks and trims an organization name (1..255 characters, not blank).
pub fn validate_org_name(raw: &str) -> Result<String, DomainError> {
    if raw.is_empty() {
        return Err(DomainError::constraint("name", "String should have at least 1 character"));
    }
    if raw.chars().count() > 255 {
        return Err(DomainError::constraint("name", "String should have at most 255 characters"));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid("name", "Organization name cannot be empty"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_names() {
        assert_eq!(validate_slug("acme-2").unwrap(), "acme-2");
        assert_eq!(
            validate_slug("Acme").unwrap_err().message(),
            "Slug must contain only lowercase letters, numbers, and hyphens"
        );
        assert_eq!(validate_slug("-acme").unwrap_err().message(), "Slug cannot start or end with a hyphen");
        assert_eq!(validate_slug("a--b").unwrap_err().message(), "Slug cannot contain consecutive hyphens");
        assert_eq!(validate_org_name("  Acme  ").unwrap(), "Acme");
        assert_eq!(validate_org_name("   ").unwrap_err().message(), "Organization name cannot be empty");
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
    }
}
