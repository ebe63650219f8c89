//! The one validation and normalisation of a user's own fields — names, phone, locale, password,
//! preferences — shared by registration, `PATCH /users/me`, `PATCH /users/{id}` and the admin API's
//! create and update, so every way into the `users` table applies the same rules with the same messages.
//! The bounds of a JSON settings store (a user's `preferences`, an organization's `settings`) too.

use chrono::{DateTime, Utc};
use latchkey_db::models::UserChanges;
use latchkey_db::{Json, Ts};
use latchkey_domain::{DomainError, normalize_locale, normalize_phone, validate_password};

/// The longest first or last name (the reference's `VARCHAR(100)` columns).
pub const MAX_NAME_CHARS: usize = 100;

/// A user's fields as submitted. `None` means "not given" (left alone on update); for the nullable
/// columns `Some(None)` means "clear it".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFields {
    pub first_name: Option<String>,
    pub last_name: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    /// The new password in clear; checked against the policy, hashed by the caller.
    pub password: Option<String>,
    pub preferences: Option<Option<serde_json::Value>>,
    pub locale: Option<Option<String>>,
}

impl UserFields {
    /// Checks every given field, reporting every broken rule at once, and returns the fields normalised:
    /// the phone number cleaned (`+1 (555) 123-4567` → `+15551234567`), the locale lower-cased. The
    /// password is checked, not changed.
    pub fn validate(self) -> Result<UserFields, Vec<DomainError>> {
        let mut errors = Vec::new();
        if let Some(first) = &self.first_name {
            check_name("first_name", first, &mut errors);
        }
        if let Some(Some(last)) = &self.last_name {
            check_name("last_name", last, &mut errors);
        }
        let phone_number = match self.phone_number {
            Some(Some(raw)) => normalize_phone(&raw).map(|p| Some(Some(p))).unwrap_or_else(|e| {
                errors.push(e);
                None
            }),
            other => other,
        };
        let locale = match self.locale {
            Some(Some(raw)) => normalize_locale(&raw).map(|l| Some(Some(l))).unwrap_or_else(|e| {
                errors.push(e);
                None
            }),
            other => other,
        };
        if let Some(password) = &self.password
            && let Err(e) = validate_password(password)
        {
            errors.push(e);
        }
        if let Some(Some(preferences)) = &self.preferences {
            if !preferences.is_object() {
                errors.push(DomainError::constraint("preferences", "Input should be a valid dictionary"));
            } else if let Err(e) = check_preferences(preferences) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(UserFields { phone_number, locale, ..self })
    }

    /// The column changes these (checked) fields make at `now`, with `is_active`. The password is not
    /// among them: the caller hashes it and writes the hash its own way.
    pub(crate) fn changes(self, is_active: Option<bool>, now: DateTime<Utc>) -> UserChanges {
        UserChanges {
            first_name: self.first_name,
            last_name: self.last_name,
            phone_number: self.phone_number,
            password_hash: None,
            preferences: self.preferences.map(|p| p.map(Json)),
            locale: self.locale,
            is_active,
            updated_at: Some(Ts(now)),
        }
    }
}

/// The largest `preferences` object accepted, serialized as compact JSON (an organization's `settings` too).
pub const PREFERENCES_MAX_BYTES: usize = 16 * 1024;
/// The deepest nesting accepted in `preferences` (the object itself is depth 1).
pub const PREFERENCES_MAX_DEPTH: usize = 8;

/// `preferences` is the client's settings store, not a file store: at most 16 KiB of JSON and 8 levels.
pub fn check_preferences(preferences: &serde_json::Value) -> Result<(), DomainError> {
    check_json_store("preferences", "Preferences", preferences)
}

/// The bounds of a JSON settings store (a user's `preferences`, an organization's `settings`): at most
/// [`PREFERENCES_MAX_BYTES`] of compact JSON and [`PREFERENCES_MAX_DEPTH`] levels; `label` starts the message.
pub fn check_json_store(field: &'static str, label: &str, value: &serde_json::Value) -> Result<(), DomainError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len());
    if size > PREFERENCES_MAX_BYTES {
        return Err(DomainError::invalid(
            field,
            format!("{label} must be at most {PREFERENCES_MAX_BYTES} bytes of JSON (got {size})"),
        ));
    }
    if depth(value) > PREFERENCES_MAX_DEPTH {
        return Err(DomainError::invalid(
            field,
            format!("{label} must not be nested more than {PREFERENCES_MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

fn check_name(field: &'static str, value: &str, errors: &mut Vec<DomainError>) {
    if value.chars().count() > MAX_NAME_CHARS {
        errors.push(DomainError::constraint(field, format!("String should have at most {MAX_NAME_CHARS} characters")));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn normalises_what_it_accepts() {
        let fields = UserFields {
            first_name: Some("Ada".into()),
            last_name: Some(None),
            phone_number: Some(Some("+1 (555) 123-4567".into())),
            password: Some("Correct-Horse-9!".into()),
            preferences: Some(Some(json!({"theme": "dark"}))),
            locale: Some(Some("it-IT".into())),
        };
        let valid = fields.clone().validate().unwrap();
        assert_eq!(valid.phone_number, Some(Some("+15551234567".into())));
        assert_eq!(valid.locale, Some(Some("it-it".into())));
        assert_eq!(valid.first_name, fields.first_name);
        assert_eq!(valid.last_name, Some(None));
        assert_eq!(valid.password, fields.password);
        assert_eq!(UserFields::default().validate().unwrap(), UserFields::default());
    }

    #[test]
    fn reports_every_broken_rule() {
        let fields = UserFields {
            first_name: Some("x".repeat(101)),
            last_name: Some(Some("y".repeat(101))),
            phone_number: Some(Some("12".into())),
            password: Some("short".into()),
            preferences: Some(Some(json!([1]))),
            locale: Some(Some("fr".into())),
        };
        let errors = fields.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field()).collect();
        assert_eq!(fields, ["first_name", "last_name", "phone_number", "locale", "password", "preferences"]);
        assert_eq!(errors[0].message(), "String should have at most 100 characters");
        assert!(!errors[0].is_custom());
        assert_eq!(errors[4].message(), "Password must be at least 12 characters long");
    }
}
