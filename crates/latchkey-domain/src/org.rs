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
        assert_eq!(validate_org_name("Acme").unwrap(), "Acme");
        assert_eq!(validate_slug("a").unwrap(), "a");
        assert_eq!(validate_slug("acme-").unwrap_err().message(), "Slug cannot start or end with a hyphen");
        assert_eq!(
            validate_slug("acme corp").unwrap_err().message(),
            "Slug must contain only lowercase letters, numbers, and hyphens"
        );
        assert!(validate_slug("Acme").unwrap_err().is_custom());
    }

    #[test]
    fn length_constraints_come_first_without_prefix() {
        for (result, field, message) in [
            (validate_slug(""), "slug", "String should have at least 1 character"),
            (validate_slug(&"a".repeat(256)), "slug", "String should have at most 255 characters"),
            (validate_slug(&"A".repeat(256)), "slug", "String should have at most 255 characters"),
            (validate_org_name(""), "name", "String should have at least 1 character"),
            (validate_org_name(&" ".repeat(256)), "name", "String should have at most 255 characters"),
        ] {
            let e = result.unwrap_err();
            assert_eq!((e.field(), e.message(), e.is_custom()), (field, message, false));
        }
        assert_eq!(validate_slug(&"a".repeat(255)).unwrap().len(), 255);
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(Role::Owner.as_str(), "owner");
        assert!("Owner".parse::<Role>().is_err());
    }
}
