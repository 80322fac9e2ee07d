//! The `lists` table: pipeline stages and tags of a workspace. Reads check the workspace's
//! owner, so another user's list is "not found".

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{ListId, UserId, WorkspaceId};
use domain::list::{DEFAULT_STAGES, List, ListKind};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{contact_tags, contacts, lists, workspaces};
use crate::time::to_db;

#[derive(Queryable, Selectable)]
#[diesel(table_name = lists)]
struct ListRow {
    id: i64,
    workspace_id: i64,
    kind: String,
    name: String,
    position: i64,
}

fn kind_of(raw: &str) -> Result<ListKind, StorageError> {
    ListKind::parse(raw).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// Creates the default stages of a new workspace.
pub fn create_defaults(
    conn: &mut Conn,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let rows: Vec<_> = DEFAULT_STAGES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                lists::workspace_id.eq(workspace.0),
                lists::kind.eq(ListKind::Primary.as_str()),
                lists::name.eq(*name),
                lists::position.eq(i as i64),
                lists::created_at.eq(to_db(now)),
            )
        })
        .collect();
    diesel::insert_into(lists::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}

/// The workspace's lists of one kind (or both), in order, with their contact counts. The
/// caller has checked the workspace belongs to the user.
pub fn for_workspace(
    conn: &mut Conn,
    workspace: WorkspaceId,
    kind: Option<ListKind>,
) -> Result<Vec<List>, StorageError> {
    let mut query = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(lists::kind.eq(kind.as_str()));
    }
    let rows: Vec<ListRow> = query
        .order((lists::kind.asc(), lists::position.asc(), lists::name.asc()))
        .select(ListRow::as_select())
        .load(conn)?;
    let stage_counts: Vec<(i64, i64)> = contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.is_null())
        .group_by(contacts::primary_list_id)
        .select((contacts::primary_list_id, diesel::dsl::count_star()))
        .load(conn)?;
    let tag_counts: Vec<(i64, i64)> = contact_tags::table
        .inner_join(contacts::table)
        .filter(contact_tags::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.is_null())
        .group_by(contact_tags::list_id)
        .select((contact_tags::list_id, diesel::dsl::count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let kind = kind_of(&r.kind)?;
            let counts = if kind == ListKind::Primary {
                &stage_counts
            } else {
                &tag_counts
            };
            let contacts = counts
                .iter()
                .find(|(id, _)| *id == r.id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            Ok(List {
                id: ListId(r.id),
                workspace_id: WorkspaceId(r.workspace_id),
                kind,
                name: r.name,
                position: r.position,
                contacts,
            })
        })
        .collect()
}

/// One list, if its workspace belongs to `owner`.
pub fn get(conn: &mut Conn, owner: UserId, id: ListId) -> Result<List, StorageError> {
    let row: ListRow = lists::table
        .inner_join(workspaces::table)
        .filter(lists::id.eq(id.0))
        .filter(workspaces::owner_user_id.eq(owner.0))
        .select(ListRow::as_select())
        .first(conn)?;
    let all = for_workspace(conn, WorkspaceId(row.workspace_id), None)?;
    all.into_iter()
        .find(|l| l.id.0 == row.id)
        .ok_or(StorageError::NotFound)
}

/// A list of the workspace and kind with this id.
pub fn find_by_id(
    conn: &mut Conn,
    workspace: WorkspaceId,
    kind: ListKind,
    id: ListId,
) -> Result<Option<ListId>, StorageError> {
    let found: Option<i64> = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::kind.eq(kind.as_str()))
        .filter(lists::id.eq(id.0))
        .select(lists::id)
        .first(conn)
        .optional()?;
    Ok(found.map(ListId))
}

/// A list of the workspace and kind with this name, ignoring case.
pub fn find_by_name(
    conn: &mut Conn,
    workspace: WorkspaceId,
    kind: ListKind,
    name: &str,
) -> Result<Option<ListId>, StorageError> {
    let found: Option<i64> = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::kind.eq(kind.as_str()))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("name = ")
                .bind::<diesel::sql_types::Text, _>(name.trim())
                .sql(" COLLATE NOCASE"),
        )
        .select(lists::id)
        .first(conn)
        .optional()?;
    Ok(found.map(ListId))
}

/// Finds a list of the workspace by id (as text) or by name, case-insensitively (for filters
/// in URLs, which carry either).
pub fn find(
    conn: &mut Conn,
    workspace: WorkspaceId,
    kind: ListKind,
    id_or_name: &str,
) -> Result<Option<ListId>, StorageError> {
    let needle = id_or_name.trim();
    let base = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::kind.eq(kind.as_str()));
    if let Ok(id) = needle.parse::<i64>() {
        let found: Option<i64> = base
            .filter(lists::id.eq(id))
            .select(lists::id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found.map(ListId));
        }
    }
    let found: Option<i64> = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::kind.eq(kind.as_str()))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("name = ")
                .bind::<diesel::sql_types::Text, _>(needle)
                .sql(" COLLATE NOCASE"),
        )
        .select(lists::id)
        .first(conn)
        .optional()?;
    Ok(found.map(ListId))
}

pub fn insert(
    conn: &mut Conn,
    workspace: WorkspaceId,
    kind: ListKind,
    name: &str,
    now: DateTime<Utc>,
) -> Result<ListId, StorageError> {
    let position: Option<i64> = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::kind.eq(kind.as_str()))
        .select(diesel::dsl::max(lists::position))
        .first(conn)?;
    let id: i64 = diesel::insert_into(lists::table)
        .values((
            lists::workspace_id.eq(workspace.0),
            lists::kind.eq(kind.as_str()),
            lists::name.eq(name),
            lists::position.eq(position.map_or(0, |p| p + 1)),
            lists::created_at.eq(to_db(now)),
        ))
        .returning(lists::id)
        .get_result(conn)?;
    Ok(ListId(id))
}

pub fn rename(conn: &mut Conn, id: ListId, name: &str) -> Result<(), StorageError> {
    diesel::update(lists::table.find(id.0))
        .set(lists::name.eq(name))
        .execute(conn)?;
    Ok(())
}

pub fn set_position(conn: &mut Conn, id: ListId, position: i64) -> Result<(), StorageError> {
    diesel::update(lists::table.find(id.0))
        .set(lists::position.eq(position))
        .execute(conn)?;
    Ok(())
}

/// Removes a list. A stage that still holds contacts is refused by the database (the caller
/// moves them first); a tag's memberships go with it.
pub fn delete(conn: &mut Conn, id: ListId) -> Result<(), StorageError> {
    diesel::delete(lists::table.find(id.0)).execute(conn)?;
    Ok(())
}
