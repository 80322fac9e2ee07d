//! The audit log: who changed what, when, with the state before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{ApiKeyId, AuditId, UserId, WorkspaceId};

/// Who made a change. Every mutation names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person in the browser.
    User { user_id: UserId },
    /// A program using one of a person's API keys.
    ApiKey { user_id: UserId, key_id: ApiKeyId },
    /// An administrator at the command line (`pi-crm user add`, ...).
    Cli,
    /// A scheduled job, by name.
    Job { name: String },
    /// An unauthenticated request (a failed sign-in, the first-run setup).
    Anonymous,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::ApiKey { .. } => "api_key",
            Actor::Cli => "cli",
            Actor::Job { .. } => "job",
            Actor::Anonymous => "anonymous",
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User { user_id } | Actor::ApiKey { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    pub fn api_key_id(&self) -> Option<ApiKeyId> {
        match self {
            Actor::ApiKey { key_id, .. } => Some(*key_id),
            _ => None,
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            Actor::Job { name } => Some(name),
            _ => None,
        }
    }
}

/// An audit row to write, inside the transaction of the change it describes.
///
/// `before` and `after` are JSON snapshots of the entity. They must never hold passwords,
/// keys, tokens or secrets: build them from the domain records, which do not carry those.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    /// Whose data this is; `None` for installation-wide events (housekeeping).
    pub owner_user_id: Option<UserId>,
    pub workspace_id: Option<WorkspaceId>,
    /// Dotted verb such as `workspace.create` or `auth.login_failed`.
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

impl NewAuditEntry {
    pub fn new(actor: Actor, action: &'static str, entity_type: &'static str) -> Self {
        let owner_user_id = actor.user_id();
        Self {
            actor,
            owner_user_id,
            workspace_id: None,
            action,
            entity_type,
            entity_id: None,
            before: None,
            after: None,
            ip: None,
        }
    }

    pub fn owner(mut self, owner: Option<UserId>) -> Self {
        self.owner_user_id = owner;
        self
    }

    pub fn workspace(mut self, id: WorkspaceId) -> Self {
        self.workspace_id = Some(id);
        self
    }

    pub fn entity(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
}

/// An audit row as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    pub workspace_id: Option<WorkspaceId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Filters for the audit page and API.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action_prefix: Option<String>,
    pub actor_kind: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}
