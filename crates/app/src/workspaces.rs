//! Workspaces: create, list, read, change and archive, always as their owner.

use chrono::Utc;
use domain::ids::{UserId, WorkspaceId};
use domain::pagination::{Page, PageRequest};
use domain::user::Username;
use domain::validation::ValidationError;
use domain::workspace::{
    Color, NewWorkspace, TimeZone, Workspace, WorkspaceChanges, WorkspaceName, parse_approvers,
    parse_postal_address,
};
use storage::workspaces;

use crate::{App, AppError, Caller};

/// What a person typed to create a workspace; only the name is required.
#[derive(Debug, Clone, Default)]
pub struct CreateWorkspace {
    pub name: String,
    pub color: Option<String>,
    pub time_zone: Option<String>,
    pub postal_address: Option<String>,
    pub requires_approval: Option<bool>,
    /// Usernames; each must exist.
    pub approvers: Option<Vec<String>>,
    pub help_text: Option<String>,
}

fn name_taken(name: &WorkspaceName) -> AppError {
    AppError::Conflict {
        field: "name",
        message: format!(
            "You already have a workspace named '{}'. Choose another name.",
            name.as_str()
        ),
    }
}

pub fn create(app: &App, caller: &Caller, input: CreateWorkspace) -> Result<Workspace, AppError> {
    let new = NewWorkspace {
        name: WorkspaceName::parse(&input.name)?,
        color: input
            .color
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(Color::parse)
            .transpose()?,
        time_zone: match input.time_zone.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(tz) => TimeZone::parse(tz)?,
            None => TimeZone::default(),
        },
        postal_address: parse_postal_address(input.postal_address.as_deref().unwrap_or(""))?,
    };
    let extra = WorkspaceChanges {
        requires_approval: input.requires_approval,
        approvers: input
            .approvers
            .as_ref()
            .map(|names| parse_approvers(names.iter().map(String::as_str)))
            .transpose()?,
        help_text: input
            .help_text
            .as_deref()
            .map(domain::workspace::parse_help_text)
            .transpose()?,
        ..WorkspaceChanges::default()
    };
    app.db().write(|conn| {
        let now = Utc::now();
        let color = match &new.color {
            Some(c) => c.clone(),
            None => Color::nth_default(workspaces::count_for_owner(conn, caller.user_id)? as usize),
        };
        let ws =
            workspaces::insert(conn, caller.user_id, &new, &color, now).map_err(|e| match e {
                storage::StorageError::Conflict(_) => name_taken(&new.name),
                other => other.into(),
            })?;
        storage::lists::create_defaults(conn, ws.id, now)?;
        // Settings beyond the basics go in the same transaction: all or nothing.
        let ws = if extra.is_empty() {
            ws
        } else {
            let approver_ids = match &extra.approvers {
                Some(names) => Some(resolve_approvers(conn, names)?),
                None => None,
            };
            workspaces::update(
                conn,
                caller.user_id,
                ws.id,
                &extra,
                approver_ids.as_deref(),
                now,
            )?
        };
        storage::audit::insert(
            conn,
            &caller
                .audit("workspace.create", "workspace")
                .workspace(ws.id)
                .entity(ws.id)
                .after(&ws),
            now,
        )?;
        Ok(ws)
    })
}

pub fn list(
    app: &App,
    user_id: UserId,
    include_archived: bool,
    page: PageRequest,
) -> Result<Page<Workspace>, AppError> {
    Ok(app
        .db()
        .read(|c| workspaces::list(c, user_id, include_archived, page))?)
}

/// Every active workspace of the user, for the switcher.
pub fn all_active(app: &App, user_id: UserId) -> Result<Vec<Workspace>, AppError> {
    Ok(list(
        app,
        user_id,
        false,
        PageRequest::new(Some(1), Some(domain::pagination::MAX_PER_PAGE)),
    )?
    .items)
}

/// The workspace, if the user owns it; otherwise [`AppError::NotFound`].
pub fn get(app: &App, user_id: UserId, id: WorkspaceId) -> Result<Workspace, AppError> {
    Ok(app.db().read(|c| workspaces::get(c, user_id, id))?)
}

/// Applies a partial update. Approvers are named by username and must exist.
pub fn update(
    app: &App,
    caller: &Caller,
    id: WorkspaceId,
    changes: WorkspaceChanges,
) -> Result<Workspace, AppError> {
    app.db().write(|conn| {
        let now = Utc::now();
        let before = workspaces::get(conn, caller.user_id, id)?;
        let approver_ids = match &changes.approvers {
            Some(names) => Some(resolve_approvers(conn, names)?),
            None => None,
        };
        let after = workspaces::update(
            conn,
            caller.user_id,
            id,
            &changes,
            approver_ids.as_deref(),
            now,
        )
        .map_err(|e| match (e, &changes.name) {
            (storage::StorageError::Conflict(_), Some(name)) => name_taken(name),
            (other, _) => other.into(),
        })?;
        let action = match (before.is_archived(), after.is_archived()) {
            (false, true) => "workspace.archive",
            (true, false) => "workspace.unarchive",
            _ => "workspace.update",
        };
        storage::audit::insert(
            conn,
            &caller
                .audit(action, "workspace")
                .workspace(id)
                .entity(id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

fn resolve_approvers(
    conn: &mut storage::Conn,
    names: &[Username],
) -> Result<Vec<UserId>, AppError> {
    let found = storage::users::find_many(conn, names)?;
    for name in names {
        if !found
            .iter()
            .any(|u| u.username.as_str().eq_ignore_ascii_case(name.as_str()))
        {
            return Err(ValidationError::new(
                "approvers",
                format!("There is no user named '{name}'. Give approvers by their username."),
            )
            .into());
        }
    }
    let mut ids: Vec<UserId> = found.into_iter().map(|u| u.id).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}
