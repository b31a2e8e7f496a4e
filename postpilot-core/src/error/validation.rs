//! Errors of values and of state machines: the leaves every domain type returns.

use std::borrow::Cow;

/// A value that failed validation, naming the field and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    field: Cow<'static, str>,
    reason: Cow<'static, str>,
}

impl ValidationError {
    /// A validation failure of `field`.
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same failure reported under another field name (e.g. `caption` → `content`).
    #[must_use]
    pub fn for_field(self, field: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            reason: self.reason,
        }
    }

    /// The field (as named in the API) that is invalid.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why, in words a user understands.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A state change the state machine does not allow, naming both states.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {entity} cannot go from {from} to {to}")]
pub struct InvalidTransition {
    /// `post` or `queue item`.
    pub entity: &'static str,
    /// The current state.
    pub from: &'static str,
    /// The requested state.
    pub to: &'static str,
}
