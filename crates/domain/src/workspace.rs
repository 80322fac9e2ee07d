//! Workspaces: one per business line, each owned by one user and closed to everyone else.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{UserId, WorkspaceId};
use crate::user::Username;
use crate::validation::{ValidationError, single_line};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        single_line("name", "workspace name", raw, 80).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A colour as `#rrggbb`, lower case, used for the workspace badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Color(String);

/// Colours offered when creating a workspace; chosen for contrast with white text.
pub const PALETTE: &[&str] = &[
    "#2563eb", "#059669", "#d97706", "#dc2626", "#7c3aed", "#db2777", "#0891b2", "#4b5563",
];

impl Color {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_ascii_lowercase();
        let hex = value.strip_prefix('#').unwrap_or(&value);
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(format!("#{hex}")))
        } else {
            Err(ValidationError::new(
                "color",
                "Give the colour as #rrggbb, for example #2563eb.",
            ))
        }
    }

    /// The palette colour for the n-th workspace, so new ones look different by default.
    pub fn nth_default(n: usize) -> Self {
        Self(PALETTE[n % PALETTE.len()].to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `America/Los_Angeles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TimeZone(String);

pub const DEFAULT_TIME_ZONE: &str = "America/Los_Angeles";

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        value
            .parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| {
                ValidationError::new(
                    "time_zone",
                    "Unknown time zone: use a name such as America/Los_Angeles or Europe/London.",
                )
            })
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().unwrap_or(chrono_tz::Tz::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(DEFAULT_TIME_ZONE.to_owned())
    }
}

/// Free text of several lines; email footers will need it (CAN-SPAM asks for a postal address).
pub fn parse_postal_address(raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim().replace("\r\n", "\n");
    if value.chars().count() > 500 {
        return Err(ValidationError::new(
            "postal_address",
            "The postal address is too long: use at most 500 characters.",
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            "postal_address",
            "The postal address cannot contain control characters.",
        ));
    }
    Ok(value)
}

/// The answer sent to a contact who texts HELP.
pub fn parse_help_text(raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.chars().count() > 320 {
        return Err(ValidationError::new(
            "help_text",
            "The help text is too long: keep it to 320 characters (two text messages).",
        ));
    }
    Ok(value.to_owned())
}

/// Approvers named by username, as typed (a list, or one string separated by commas, spaces or
/// lines). Whether each user exists is checked where the database is at hand.
pub fn parse_approvers<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Username>, ValidationError> {
    names
        .into_iter()
        .flat_map(|n| n.split([',', ' ', '\n', '\r']))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            Username::parse(n).map_err(|_| {
                ValidationError::new(
                    "approvers",
                    format!("'{n}' is not a username. Give approvers by their username."),
                )
            })
        })
        .collect()
}

/// A workspace and its settings as the rest of the app sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub owner_user_id: UserId,
    pub name: WorkspaceName,
    pub color: Color,
    pub time_zone: TimeZone,
    pub postal_address: String,
    pub requires_approval: bool,
    pub approvers: Vec<Username>,
    pub help_text: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Workspace {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// What a new workspace starts with.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub name: WorkspaceName,
    pub color: Option<Color>,
    pub time_zone: TimeZone,
    pub postal_address: String,
}

/// A partial update: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceChanges {
    pub name: Option<WorkspaceName>,
    pub color: Option<Color>,
    pub time_zone: Option<TimeZone>,
    pub postal_address: Option<String>,
    pub requires_approval: Option<bool>,
    pub approvers: Option<Vec<Username>>,
    pub help_text: Option<String>,
    pub archived: Option<bool>,
}

impl WorkspaceChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.color.is_none()
            && self.time_zone.is_none()
            && self.postal_address.is_none()
            && self.requires_approval.is_none()
            && self.approvers.is_none()
            && self.help_text.is_none()
            && self.archived.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        let check = |raw: &str, expected: Option<&str>| {
            assert_eq!(
                Color::parse(raw).ok().as_ref().map(Color::as_str),
                expected,
                "{raw}"
            );
        };
        check("#2563EB", Some("#2563eb"));
        check("2563eb", Some("#2563eb"));
        check("#25e", None);
        check("red", None);
        check("#2563eg", None);
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            TimeZone::parse(" America/New_York ").unwrap().as_str(),
            "America/New_York"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn workspace_names() {
        assert_eq!(
            WorkspaceName::parse("  RateReady Realtors ")
                .unwrap()
                .as_str(),
            "RateReady Realtors"
        );
        assert!(WorkspaceName::parse("").is_err());
        assert!(WorkspaceName::parse("a\nb").is_err());
        assert!(WorkspaceName::parse(&"x".repeat(81)).is_err());
        // Markup is just text here; rendering escapes it.
        assert!(WorkspaceName::parse("<img src=x onerror=alert(1)>").is_ok());
    }

    #[test]
    fn approver_lists() {
        let names = |v: Vec<Username>| v.iter().map(|u| u.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            names(parse_approvers(["andy, monalisa", "  "]).unwrap()),
            ["andy", "monalisa"]
        );
        assert_eq!(
            names(parse_approvers(["andy\nbob"]).unwrap()),
            ["andy", "bob"]
        );
        assert!(parse_approvers([""]).unwrap().is_empty());
        assert_eq!(parse_approvers(["<b>"]).unwrap_err().field, "approvers");
    }

    #[test]
    fn postal_addresses_keep_lines() {
        assert_eq!(
            parse_postal_address("1 Main St\r\nSpringfield").unwrap(),
            "1 Main St\nSpringfield"
        );
        assert!(parse_postal_address("a\u{7}b").is_err());
    }
}
