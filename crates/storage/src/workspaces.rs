//! The `workspaces` and `workspace_approvers` tables. Every read and write is filtered by the
//! owner, so another user's workspace is "not found".

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{UserId, WorkspaceId};
use domain::pagination::{Page, PageRequest};
use domain::user::Username;
use domain::workspace::{
    Color, NewWorkspace, TimeZone, Workspace, WorkspaceChanges, WorkspaceName,
};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{users, workspace_approvers, workspaces};
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = workspaces)]
struct WorkspaceRow {
    id: i64,
    owner_user_id: i64,
    name: String,
    color: String,
    time_zone: String,
    postal_address: String,
    requires_approval: bool,
    help_text: String,
    archived_at: Option<chrono::NaiveDateTime>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl WorkspaceRow {
    fn into_domain(self, approvers: Vec<Username>) -> Result<Workspace, StorageError> {
        let corrupt = |e: domain::validation::ValidationError| StorageError::Corrupt(e.to_string());
        Ok(Workspace {
            id: WorkspaceId(self.id),
            owner_user_id: UserId(self.owner_user_id),
            name: WorkspaceName::parse(&self.name).map_err(corrupt)?,
            color: Color::parse(&self.color).map_err(corrupt)?,
            time_zone: TimeZone::parse(&self.time_zone).map_err(corrupt)?,
            postal_address: self.postal_address,
            requires_approval: self.requires_approval,
            approvers,
            help_text: self.help_text,
            archived_at: self.archived_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

fn approvers_of(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, Vec<Username>>, StorageError> {
    let rows: Vec<(i64, String)> = workspace_approvers::table
        .inner_join(users::table)
        .filter(workspace_approvers::workspace_id.eq_any(ids))
        .order(users::username.asc())
        .select((workspace_approvers::workspace_id, users::username))
        .load(conn)?;
    let mut map: HashMap<i64, Vec<Username>> = HashMap::new();
    for (ws, name) in rows {
        let name = Username::parse(&name).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        map.entry(ws).or_default().push(name);
    }
    Ok(map)
}

fn with_approvers(
    conn: &mut Conn,
    rows: Vec<WorkspaceRow>,
) -> Result<Vec<Workspace>, StorageError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut approvers = approvers_of(conn, &ids)?;
    rows.into_iter()
        .map(|r| {
            let a = approvers.remove(&r.id).unwrap_or_default();
            r.into_domain(a)
        })
        .collect()
}

pub fn insert(
    conn: &mut Conn,
    owner: UserId,
    new: &NewWorkspace,
    color: &Color,
    now: DateTime<Utc>,
) -> Result<Workspace, StorageError> {
    let row: WorkspaceRow = diesel::insert_into(workspaces::table)
        .values((
            workspaces::owner_user_id.eq(owner.0),
            workspaces::name.eq(new.name.as_str()),
            workspaces::color.eq(color.as_str()),
            workspaces::time_zone.eq(new.time_zone.as_str()),
            workspaces::postal_address.eq(&new.postal_address),
            workspaces::created_at.eq(to_db(now)),
            workspaces::updated_at.eq(to_db(now)),
        ))
        .returning(WorkspaceRow::as_returning())
        .get_result(conn)?;
    row.into_domain(Vec::new())
}

/// The workspace, if `owner` owns it.
pub fn get(conn: &mut Conn, owner: UserId, id: WorkspaceId) -> Result<Workspace, StorageError> {
    let row: WorkspaceRow = workspaces::table
        .filter(workspaces::id.eq(id.0))
        .filter(workspaces::owner_user_id.eq(owner.0))
        .select(WorkspaceRow::as_select())
        .first(conn)?;
    Ok(with_approvers(conn, vec![row])?.remove(0))
}

pub fn count_for_owner(conn: &mut Conn, owner: UserId) -> Result<i64, StorageError> {
    Ok(workspaces::table
        .filter(workspaces::owner_user_id.eq(owner.0))
        .count()
        .get_result(conn)?)
}

/// The owner's workspaces by name; archived ones only when asked.
pub fn list(
    conn: &mut Conn,
    owner: UserId,
    include_archived: bool,
    page: PageRequest,
) -> Result<Page<Workspace>, StorageError> {
    let mut query = workspaces::table
        .filter(workspaces::owner_user_id.eq(owner.0))
        .into_boxed();
    let mut count = workspaces::table
        .filter(workspaces::owner_user_id.eq(owner.0))
        .into_boxed();
    if !include_archived {
        query = query.filter(workspaces::archived_at.is_null());
        count = count.filter(workspaces::archived_at.is_null());
    }
    let total: i64 = count.count().get_result(conn)?;
    let rows: Vec<WorkspaceRow> = query
        .order((
            workspaces::archived_at.is_not_null(),
            workspaces::name.asc(),
            workspaces::id.asc(),
        ))
        .limit(page.limit())
        .offset(page.offset())
        .select(WorkspaceRow::as_select())
        .load(conn)?;
    Ok(Page::new(with_approvers(conn, rows)?, total, page))
}

/// Applies `changes` to the owner's workspace and returns it as it is now.
/// `approver_ids` are the users behind `changes.approvers`, resolved by the caller.
pub fn update(
    conn: &mut Conn,
    owner: UserId,
    id: WorkspaceId,
    changes: &WorkspaceChanges,
    approver_ids: Option<&[UserId]>,
    now: DateTime<Utc>,
) -> Result<Workspace, StorageError> {
    let current = get(conn, owner, id)?;
    let archived_at = match changes.archived {
        Some(true) => Some(current.archived_at.unwrap_or(now)),
        Some(false) => None,
        None => current.archived_at,
    };
    diesel::update(
        workspaces::table
            .filter(workspaces::id.eq(id.0))
            .filter(workspaces::owner_user_id.eq(owner.0)),
    )
    .set((
        workspaces::name.eq(changes.name.as_ref().unwrap_or(&current.name).as_str()),
        workspaces::color.eq(changes.color.as_ref().unwrap_or(&current.color).as_str()),
        workspaces::time_zone.eq(changes
            .time_zone
            .as_ref()
            .unwrap_or(&current.time_zone)
            .as_str()),
        workspaces::postal_address.eq(changes
            .postal_address
            .as_ref()
            .unwrap_or(&current.postal_address)),
        workspaces::requires_approval.eq(changes
            .requires_approval
            .unwrap_or(current.requires_approval)),
        workspaces::help_text.eq(changes.help_text.as_ref().unwrap_or(&current.help_text)),
        workspaces::archived_at.eq(archived_at.map(to_db)),
        workspaces::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    if let Some(ids) = approver_ids {
        diesel::delete(
            workspace_approvers::table.filter(workspace_approvers::workspace_id.eq(id.0)),
        )
        .execute(conn)?;
        let rows: Vec<_> = ids
            .iter()
            .map(|u| {
                (
                    workspace_approvers::workspace_id.eq(id.0),
                    workspace_approvers::user_id.eq(u.0),
                )
            })
            .collect();
        diesel::insert_into(workspace_approvers::table)
            .values(rows)
            .execute(conn)?;
    }
    get(conn, owner, id)
}

/// Every workspace id of the installation (for jobs that visit each one).
pub fn all_ids(conn: &mut Conn) -> Result<Vec<WorkspaceId>, StorageError> {
    let ids: Vec<i64> = workspaces::table.select(workspaces::id).load(conn)?;
    Ok(ids.into_iter().map(WorkspaceId).collect())
}

/// Whose workspace this is (for the command line, which acts as the owner).
pub fn owner_of(conn: &mut Conn, id: WorkspaceId) -> Result<UserId, StorageError> {
    workspaces::table
        .find(id.0)
        .select(workspaces::owner_user_id)
        .first::<i64>(conn)
        .optional()?
        .map(UserId)
        .ok_or(StorageError::NotFound)
}

/// Any workspace, for jobs acting for the installation (the send queue, webhooks).
pub fn get_any(conn: &mut Conn, id: WorkspaceId) -> Result<Workspace, StorageError> {
    let owner = owner_of(conn, id)?;
    get(conn, owner, id)
}

/// The ids of every workspace of `owner`, archived ones too.
pub fn ids_for_owner(conn: &mut Conn, owner: UserId) -> Result<Vec<WorkspaceId>, StorageError> {
    Ok(workspaces::table
        .filter(workspaces::owner_user_id.eq(owner.0))
        .order(workspaces::id)
        .select(workspaces::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(WorkspaceId)
        .collect())
}
