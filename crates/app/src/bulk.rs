//! Bulk actions on the contacts table: on the selected rows or on every contact that matches
//! the current filters. Add or remove a tag, move to a stage, move to the trash, or export as
//! CSV. One transaction per action; stage moves are logged on each contact; one audit row names
//! every contact touched.

use chrono::Utc;
use domain::contact::ContactQuery;
use domain::contact_log::{LogKind, NewLogEntry};
use domain::ids::{ContactId, ListId, WorkspaceId};
use domain::list::ListKind;
use domain::validation::ValidationError;
use storage::contacts;

use crate::{App, AppError, Caller};

/// Which contacts a bulk action applies to.
#[derive(Debug, Clone)]
pub enum Target {
    Ids(Vec<ContactId>),
    /// Every contact matching these filters (the trash flag included).
    Matching(ContactQuery),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// By name; created when it does not exist.
    AddTag(String),
    RemoveTag(String),
    SetStage(ListId),
    Trash,
}

impl Action {
    fn audit_name(&self) -> &'static str {
        match self {
            Action::AddTag(_) => "add_tag",
            Action::RemoveTag(_) => "remove_tag",
            Action::SetStage(_) => "set_stage",
            Action::Trash => "trash",
        }
    }
}

/// The most contacts one bulk action touches: a safety net, far above real use.
const MAX: i64 = 200_000;

fn resolve(
    conn: &mut storage::Conn,
    ws: WorkspaceId,
    target: &Target,
) -> Result<Vec<ContactId>, AppError> {
    match target {
        Target::Ids(ids) => {
            let loaded = contacts::load(conn, ids)?;
            // Every id must be a contact of this workspace: one foreign id and nothing happens.
            if loaded.len() != ids.len() || loaded.iter().any(|c| c.workspace_id != ws) {
                return Err(AppError::NotFound);
            }
            Ok(ids.clone())
        }
        Target::Matching(query) => {
            let ids = contacts::matching_ids(conn, ws, query)?;
            if ids.len() as i64 > MAX {
                return Err(ValidationError::new(
                    "scope",
                    "That is too many contacts at once: narrow the filters.",
                )
                .into());
            }
            Ok(ids)
        }
    }
}

/// Applies `action` and returns how many contacts it changed.
pub fn apply(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    target: &Target,
    action: &Action,
) -> Result<usize, AppError> {
    app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let ids = resolve(conn, ws, target)?;
        if ids.is_empty() {
            return Err(ValidationError::new("ids", "Select at least one contact first.").into());
        }
        let now = Utc::now();
        let mut changed = 0;
        match action {
            Action::AddTag(name) | Action::RemoveTag(name) => {
                let name = domain::list::parse_list_name(name)
                    .map_err(|e| ValidationError::new("value", e.message))?;
                let existing = storage::lists::find(conn, ws, ListKind::Secondary, &name)?;
                let tag = match (existing, action) {
                    (Some(id), _) => id,
                    (None, Action::AddTag(_)) => {
                        storage::lists::insert(conn, ws, ListKind::Secondary, &name, now)?
                    }
                    (None, _) => {
                        return Err(ValidationError::new(
                            "value",
                            format!("There is no tag '{name}'."),
                        )
                        .into());
                    }
                };
                for id in &ids {
                    let did = if matches!(action, Action::AddTag(_)) {
                        contacts::add_tag(conn, ws, *id, tag)?
                    } else {
                        contacts::remove_tag(conn, *id, tag)?
                    };
                    changed += usize::from(did);
                }
            }
            Action::SetStage(stage) => {
                let stages = storage::lists::for_workspace(conn, ws, Some(ListKind::Primary))?;
                let Some(target_stage) = stages.iter().find(|s| s.id == *stage) else {
                    return Err(
                        ValidationError::new("value", "Choose a stage of this workspace.").into(),
                    );
                };
                for c in contacts::load(conn, &ids)? {
                    if c.primary_list.id == *stage {
                        continue;
                    }
                    contacts::set_stage(conn, c.id, *stage, now)?;
                    storage::contact_log::insert(
                        conn,
                        c.id,
                        &NewLogEntry::new(
                            LogKind::Stage,
                            format!("Stage: {} -> {}", c.primary_list.name, target_stage.name),
                            now,
                        ),
                        Some(caller.user_id),
                        now,
                    )?;
                    changed += 1;
                }
            }
            Action::Trash => {
                for c in contacts::load(conn, &ids)? {
                    if c.deleted_at.is_some() {
                        continue;
                    }
                    contacts::set_trashed(conn, c.id, Some(now), now)?;
                    storage::contact_log::insert(
                        conn,
                        c.id,
                        &NewLogEntry::new(LogKind::System, "Moved to the trash", now),
                        Some(caller.user_id),
                        now,
                    )?;
                    changed += 1;
                }
            }
        }
        storage::audit::insert(
            conn,
            &caller.audit("contact.bulk", "contact").workspace(ws).after(
                &serde_json::json!({"action": action.audit_name(), "changed": changed, "ids": ids}),
            ),
            now,
        )?;
        Ok(changed)
    })
}

/// The ids a bulk action or export covers, in the table's order.
pub fn resolve_ids(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    target: &Target,
) -> Result<Vec<ContactId>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        resolve(conn, ws, target)
    })
}
