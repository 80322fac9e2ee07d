//! Custom field definitions: what extra details a user keeps on contacts, per user (all their
//! workspaces) or per workspace.

use serde::Serialize;

use crate::custom_field::{FieldName, FieldType, FieldValue};
use crate::ids::{CustomFieldId, UserId, WorkspaceId};
use crate::validation::{ValidationError, single_line};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldDef {
    pub id: CustomFieldId,
    pub owner_user_id: UserId,
    /// `None`: applies in all of the owner's workspaces.
    pub workspace_id: Option<WorkspaceId>,
    pub name: FieldName,
    pub label: String,
    pub field_type: FieldType,
    pub required: bool,
    /// Canonical text of the default value, if any.
    pub default_value: Option<String>,
    pub position: i64,
    /// Changes are written to the contact's log.
    pub transaction_related: bool,
}

pub fn parse_label(raw: &str) -> Result<String, ValidationError> {
    single_line("label", "label", raw, 80)
}

/// Checks a default value against the field's type; returns its canonical text.
pub fn parse_default(field_type: FieldType, raw: &str) -> Result<Option<String>, ValidationError> {
    FieldValue::parse(field_type, raw, Default::default())
        .map(|v| v.map(|v| v.to_stored().text))
        .map_err(|m| ValidationError::new("default_value", m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_checked_by_type() {
        assert_eq!(
            parse_default(FieldType::Number, "1,200")
                .unwrap()
                .as_deref(),
            Some("1200")
        );
        assert_eq!(parse_default(FieldType::Date, "").unwrap(), None);
        let err = parse_default(FieldType::Date, "someday").unwrap_err();
        assert_eq!(err.field, "default_value");
    }
}
