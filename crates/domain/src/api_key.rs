//! API keys: what a key may do (its scopes) and how it is shown.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{ApiKeyId, UserId};
use crate::validation::{ValidationError, single_line};

/// One permission a key can carry. The string form is the contract (`workspaces:read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Scope {
    #[serde(rename = "workspaces:read")]
    WorkspacesRead,
    #[serde(rename = "workspaces:write")]
    WorkspacesWrite,
    #[serde(rename = "contacts:read")]
    ContactsRead,
    #[serde(rename = "contacts:write")]
    ContactsWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "messages:read")]
    MessagesRead,
    #[serde(rename = "messages:write")]
    MessagesWrite,
    #[serde(rename = "settings:write")]
    SettingsWrite,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::WorkspacesRead,
        Scope::WorkspacesWrite,
        Scope::ContactsRead,
        Scope::ContactsWrite,
        Scope::AuditRead,
        Scope::MessagesRead,
        Scope::MessagesWrite,
        Scope::SettingsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::WorkspacesRead => "workspaces:read",
            Scope::WorkspacesWrite => "workspaces:write",
            Scope::ContactsRead => "contacts:read",
            Scope::ContactsWrite => "contacts:write",
            Scope::AuditRead => "audit:read",
            Scope::MessagesRead => "messages:read",
            Scope::MessagesWrite => "messages:write",
            Scope::SettingsWrite => "settings:write",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::WorkspacesRead => "Read workspaces and their settings",
            Scope::WorkspacesWrite => "Create and change workspaces",
            Scope::ContactsRead => "Read contacts",
            Scope::ContactsWrite => "Create and change contacts",
            Scope::AuditRead => "Read the audit log",
            Scope::MessagesRead => "Read messages and their delivery",
            Scope::MessagesWrite => "Send emails and texts",
            Scope::SettingsWrite => "Change email and text provider settings",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        Scope::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ValidationError::new(
                    "scopes",
                    format!(
                        "Unknown scope '{raw}'. Known scopes: {}.",
                        Scope::ALL
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Self, ValidationError> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        if set.is_empty() {
            return Err(ValidationError::new(
                "scopes",
                "Choose at least one scope for the key.",
            ));
        }
        Ok(Self(set))
    }

    /// Parses `a,b,c` (spaces allowed), as stored and as typed on the command line.
    pub fn parse_list(raw: &str) -> Result<Self, ValidationError> {
        let scopes = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn to_list(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }
}

/// A person's name for a key ("Zapier", "backup script").
pub fn parse_label(raw: &str) -> Result<String, ValidationError> {
    single_line("label", "label", raw, 80)
}

/// A key as listed: never the secret, only its first characters so a person can tell keys apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub label: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists() {
        let s = Scopes::parse_list("workspaces:read, contacts:write").unwrap();
        assert!(s.contains(Scope::WorkspacesRead));
        assert!(!s.contains(Scope::WorkspacesWrite));
        assert_eq!(s.to_list(), "workspaces:read,contacts:write");
        assert!(Scopes::parse_list("").is_err());
        let err = Scopes::parse_list("workspaces:read,everything").unwrap_err();
        assert!(err.message.contains("everything"), "{err}");
    }

    #[test]
    fn every_scope_round_trips() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()).unwrap(), *scope);
        }
    }
}
