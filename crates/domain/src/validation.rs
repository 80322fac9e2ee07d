//! The one error type for a value a person typed that we cannot accept.

use std::borrow::Cow;

/// A rejected value: which field (a base field's fixed name, or a custom field's own name),
/// and a message that tells the person what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: Cow<'static, str>,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Trims `raw` and checks it is a single line of sensible length without control characters.
pub(crate) fn single_line(
    field: &'static str,
    what: &str,
    raw: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, format!("Enter a {what}.")));
    }
    if value.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("The {what} is too long: use at most {max_chars} characters."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("The {what} cannot contain line breaks or control characters."),
        ));
    }
    Ok(value.to_owned())
}
