//! Lists, the hybrid model: primary lists are pipeline stages (every contact is in exactly
//! one), secondary lists are tags (any number).

use serde::Serialize;

use crate::ids::{ListId, WorkspaceId};
use crate::validation::{ValidationError, single_line};

/// The stages a new workspace starts with.
pub const DEFAULT_STAGES: &[&str] = &["Leads", "Prospects", "Applications", "Closed", "Lost"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Primary,
    Secondary,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Primary => "primary",
            ListKind::Secondary => "secondary",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "primary" | "stage" => Ok(ListKind::Primary),
            "secondary" | "tag" => Ok(ListKind::Secondary),
            _ => Err(ValidationError::new(
                "kind",
                "A list is either 'primary' (a pipeline stage) or 'secondary' (a tag).",
            )),
        }
    }
}

pub fn parse_list_name(raw: &str) -> Result<String, ValidationError> {
    let name = single_line("name", "list name", raw, 60)?;
    // Forms list tags separated by commas, so a comma inside a name would split it in two.
    if name.contains(',') {
        return Err(ValidationError::new(
            "name",
            "Leave commas out of list names.",
        ));
    }
    Ok(name)
}

/// A stage or tag as a request names it: by id, or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSpec {
    Id(ListId),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct List {
    pub id: ListId,
    pub workspace_id: WorkspaceId,
    pub kind: ListKind,
    pub name: String,
    pub position: i64,
    /// Contacts in the list (not counting the trash).
    pub contacts: i64,
}

/// A list as a contact refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRef {
    pub id: ListId,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_names() {
        assert_eq!(ListKind::parse("tag").unwrap(), ListKind::Secondary);
        assert_eq!(ListKind::parse("primary").unwrap(), ListKind::Primary);
        assert!(ListKind::parse("other").is_err());
        assert_eq!(parse_list_name("  Hot Leads ").unwrap(), "Hot Leads");
        assert!(parse_list_name("").is_err());
        assert!(parse_list_name("Q3, 2026").is_err());
    }
}
