//! Lists: a workspace's pipeline stages and tags.

use chrono::Utc;
use domain::ids::{ListId, WorkspaceId};
use domain::list::{List, ListKind, parse_list_name};
use domain::validation::ValidationError;
use storage::lists;

use crate::{App, AppError, Caller};

fn name_taken(kind: ListKind, name: &str) -> AppError {
    AppError::Conflict {
        field: "name",
        message: match kind {
            ListKind::Primary => format!("There is already a stage named '{name}'."),
            ListKind::Secondary => format!("There is already a tag named '{name}'."),
        },
    }
}

pub fn for_workspace(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    kind: Option<ListKind>,
) -> Result<Vec<List>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        Ok(lists::for_workspace(conn, ws, kind)?)
    })
}

pub fn get(app: &App, caller: &Caller, id: ListId) -> Result<List, AppError> {
    Ok(app.db().read(|c| lists::get(c, caller.user_id, id))?)
}

/// A list of the workspace by id or name.
pub fn find(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    kind: ListKind,
    id_or_name: &str,
) -> Result<Option<ListId>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        Ok(lists::find(conn, ws, kind, id_or_name)?)
    })
}

pub fn create(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    kind: ListKind,
    name: &str,
) -> Result<List, AppError> {
    let name = parse_list_name(name)?;
    app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let now = Utc::now();
        let id = lists::insert(conn, ws, kind, &name, now).map_err(|e| match e {
            storage::StorageError::Conflict(_) => name_taken(kind, &name),
            other => other.into(),
        })?;
        let list = lists::get(conn, caller.user_id, id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("list.create", "list")
                .workspace(ws)
                .entity(id)
                .after(&list),
            now,
        )?;
        Ok(list)
    })
}

pub fn rename(app: &App, caller: &Caller, id: ListId, name: &str) -> Result<List, AppError> {
    let name = parse_list_name(name)?;
    app.db().write(|conn| {
        let before = lists::get(conn, caller.user_id, id)?;
        lists::rename(conn, id, &name).map_err(|e| match e {
            storage::StorageError::Conflict(_) => name_taken(before.kind, &name),
            other => other.into(),
        })?;
        let after = lists::get(conn, caller.user_id, id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("list.rename", "list")
                .workspace(before.workspace_id)
                .entity(id)
                .before(&before)
                .after(&after),
            Utc::now(),
        )?;
        Ok(after)
    })
}

/// Moves a list one place earlier (`up`) or later among lists of its kind.
pub fn reorder(app: &App, caller: &Caller, id: ListId, up: bool) -> Result<(), AppError> {
    app.db().write(|conn| {
        let list = lists::get(conn, caller.user_id, id)?;
        let mut siblings = lists::for_workspace(conn, list.workspace_id, Some(list.kind))?;
        let Some(at) = siblings.iter().position(|l| l.id == id) else {
            return Err(AppError::NotFound);
        };
        let other = if up {
            at.checked_sub(1)
        } else {
            Some(at + 1).filter(|i| *i < siblings.len())
        };
        if let Some(other) = other {
            siblings.swap(at, other);
            for (i, l) in siblings.iter().enumerate() {
                lists::set_position(conn, l.id, i as i64)?;
            }
            storage::audit::insert(
                conn,
                &caller
                    .audit("list.reorder", "list")
                    .workspace(list.workspace_id)
                    .entity(id),
                Utc::now(),
            )?;
        }
        Ok(())
    })
}

/// Removes a list. A stage that still holds contacts needs `move_to`, another stage of the same
/// workspace, where they go (each move is logged on the contact).
pub fn delete(
    app: &App,
    caller: &Caller,
    id: ListId,
    move_to: Option<ListId>,
) -> Result<(), AppError> {
    app.db().write(|conn| {
        let now = Utc::now();
        let list = lists::get(conn, caller.user_id, id)?;
        if list.kind == ListKind::Primary {
            let stages = lists::for_workspace(conn, list.workspace_id, Some(ListKind::Primary))?;
            if stages.len() <= 1 {
                return Err(
                    ValidationError::new("list", "A workspace needs at least one stage.").into(),
                );
            }
            if list.contacts > 0 || storage::contacts::any_in_stage(conn, id)? {
                let Some(target) =
                    move_to.filter(|t| *t != id && stages.iter().any(|s| s.id == *t))
                else {
                    return Err(ValidationError::new(
                        "move_to",
                        format!(
                            "'{}' still holds contacts: choose the stage they move to.",
                            list.name
                        ),
                    )
                    .into());
                };
                let target_name = stages
                    .iter()
                    .find(|s| s.id == target)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for contact in storage::contacts::in_stage(conn, id)? {
                    storage::contacts::set_stage(conn, contact, target, now)?;
                    storage::contact_log::insert(
                        conn,
                        contact,
                        &domain::contact_log::NewLogEntry::new(
                            domain::contact_log::LogKind::Stage,
                            format!("Stage: {} -> {} (stage removed)", list.name, target_name),
                            now,
                        ),
                        Some(caller.user_id),
                        now,
                    )?;
                }
            }
        }
        lists::delete(conn, id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("list.delete", "list")
                .workspace(list.workspace_id)
                .entity(id)
                .before(&list),
            now,
        )?;
        Ok(())
    })
}
