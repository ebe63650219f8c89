//! The domain's one error type: a rule that input broke.

/// A broken rule, tied to the input field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A custom validator's rule (the HTTP layer prefixes pydantic's `"Value error, "`).
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// A built-in constraint (pattern, length), worded as pydantic words it, with no prefix.
    #[error("{message}")]
    Constraint { field: &'static str, message: String },
}

impl DomainError {
    /// A custom-validator failure.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> DomainError {
        DomainError::Invalid { field, message: message.into() }
    }

    /// A built-in constraint failure.
    pub fn constraint(field: &'static str, message: impl Into<String>) -> DomainError {
        DomainError::Constraint { field, message: message.into() }
    }

    /// The field the rule is about.
    pub fn field(&self) -> &'static str {
        match self {
            DomainError::Invalid { field, .. } | DomainError::Constraint { field, .. } => field,
        }
    }

    /// The message, without any prefix.
    pub fn message(&self) -> &str {
        match self {
            DomainError::Invalid { message, .. } | DomainError::Constraint { message, .. } => message,
        }
    }

    /// True for custom validators' messages.
    pub fn is_custom(&self) -> bool {
        matches!(self, DomainError::Invalid { .. })
    }
}
