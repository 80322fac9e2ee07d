//! The `audit_log` table: written inside the transaction of each change, read per owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use domain::ids::{AuditId, UserId, WorkspaceId};
use domain::pagination::{Page, PageRequest};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{audit_log, users};
use crate::time::{from_db, to_db};

pub fn insert(
    conn: &mut Conn,
    entry: &NewAuditEntry,
    now: DateTime<Utc>,
) -> Result<AuditId, StorageError> {
    let id: i64 = diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(to_db(now)),
            audit_log::actor_kind.eq(entry.actor.kind()),
            audit_log::actor_user_id.eq(entry.actor.user_id().map(|u| u.0)),
            audit_log::actor_api_key_id.eq(entry.actor.api_key_id().map(|k| k.0)),
            audit_log::actor_detail.eq(entry.actor.detail()),
            audit_log::owner_user_id.eq(entry.owner_user_id.map(|u| u.0)),
            audit_log::workspace_id.eq(entry.workspace_id.map(|w| w.0)),
            audit_log::action.eq(entry.action),
            audit_log::entity_type.eq(entry.entity_type),
            audit_log::entity_id.eq(entry.entity_id.as_deref()),
            audit_log::before_json.eq(entry.before.as_ref().map(|v| v.to_string())),
            audit_log::after_json.eq(entry.after.as_ref().map(|v| v.to_string())),
            audit_log::ip.eq(entry.ip.as_deref()),
        ))
        .returning(audit_log::id)
        .get_result(conn)?;
    Ok(AuditId(id))
}

type AuditRow = (
    i64,
    chrono::NaiveDateTime,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Whose entries to list.
#[derive(Debug, Clone, Copy)]
pub enum AuditScope {
    /// One workspace of this owner.
    Workspace(UserId, WorkspaceId),
    /// Everything that belongs to the owner, plus installation-wide entries made by jobs.
    Account(UserId),
}

pub fn list(
    conn: &mut Conn,
    scope: AuditScope,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, StorageError> {
    let build = || {
        let mut q = audit_log::table.into_boxed();
        q = match scope {
            AuditScope::Workspace(owner, ws) => q
                .filter(audit_log::owner_user_id.eq(owner.0))
                .filter(audit_log::workspace_id.eq(ws.0)),
            // Installation-wide entries are shown only when a job wrote them: a failed
            // sign-in with an unknown name is nobody's to see.
            AuditScope::Account(owner) => q.filter(
                audit_log::owner_user_id
                    .eq(owner.0)
                    .or(audit_log::owner_user_id
                        .is_null()
                        .and(audit_log::actor_kind.eq("job"))),
            ),
        };
        if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
            let escaped = prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(audit_log::action.like(format!("{escaped}%")).escape('\\'));
        }
        if let Some(kind) = filter.actor_kind.as_deref().filter(|k| !k.is_empty()) {
            q = q.filter(audit_log::actor_kind.eq(kind.to_owned()));
        }
        if let Some(since) = filter.since {
            q = q.filter(audit_log::at.ge(to_db(since)));
        }
        if let Some(until) = filter.until {
            q = q.filter(audit_log::at.lt(to_db(until)));
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows: Vec<AuditRow> = build()
        .left_join(users::table.on(users::id.nullable().eq(audit_log::actor_user_id)))
        .order(audit_log::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor_kind,
            audit_log::actor_user_id,
            audit_log::actor_detail,
            users::display_name.nullable(),
            audit_log::workspace_id,
            audit_log::action,
            audit_log::entity_type,
            audit_log::entity_id,
            audit_log::before_json,
            audit_log::after_json,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, at, kind, actor, detail, actor_name, ws, action, etype, eid, before, after)| {
                let actor_label = match (kind.as_str(), actor_name, detail) {
                    ("api_key", Some(name), _) => format!("{name} (API key)"),
                    (_, Some(name), _) => name,
                    ("job", _, Some(job)) => format!("job: {job}"),
                    ("cli", _, _) => "command line".to_owned(),
                    _ => "anonymous".to_owned(),
                };
                AuditEntry {
                    id: AuditId(id),
                    at: from_db(at),
                    actor_kind: kind,
                    actor_user_id: actor.map(UserId),
                    actor_label,
                    workspace_id: ws.map(WorkspaceId),
                    action,
                    entity_type: etype,
                    entity_id: eid,
                    before: before.and_then(|b| serde_json::from_str(&b).ok()),
                    after: after.and_then(|a| serde_json::from_str(&a).ok()),
                }
            },
        )
        .collect();
    Ok(Page::new(items, total, page))
}

/// All entries with this action, newest first (for jobs and tests that check their own runs).
pub fn count_action(conn: &mut Conn, action: &str) -> Result<i64, StorageError> {
    Ok(audit_log::table
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(conn)?)
}
