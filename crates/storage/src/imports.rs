//! The `imports`, `import_changes` and `import_failures` tables. An import is reached through
//! its owner, so another user's import is "not found".

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{ContactId, ImportId, UserId, WorkspaceId};
use domain::import_job::{FailedRow, ImportCounts, ImportRecord, ImportSettings, ImportStatus};

use crate::bulk_insert::insert_in_chunks;
use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{import_changes, import_failures, imports};
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = imports)]
struct Row {
    id: i64,
    owner_user_id: i64,
    workspace_id: i64,
    file_name: String,
    status: String,
    dry_run: bool,
    settings: String,
    total_rows: i64,
    processed_rows: i64,
    created_count: i64,
    updated_count: i64,
    failed_count: i64,
    cancel_requested: bool,
    error: Option<String>,
    created_at: chrono::NaiveDateTime,
    finished_at: Option<chrono::NaiveDateTime>,
}

impl Row {
    fn record(self) -> Result<ImportRecord, StorageError> {
        Ok(ImportRecord {
            id: ImportId(self.id),
            owner_user_id: UserId(self.owner_user_id),
            workspace_id: WorkspaceId(self.workspace_id),
            file_name: self.file_name,
            status: ImportStatus::parse(&self.status).ok_or_else(|| {
                StorageError::Corrupt(format!("unknown import status {}", self.status))
            })?,
            dry_run: self.dry_run,
            // Written by this module only; an unreadable value means "not mapped yet".
            settings: serde_json::from_str(&self.settings).ok(),
            total_rows: self.total_rows,
            processed_rows: self.processed_rows,
            counts: ImportCounts {
                created: self.created_count,
                updated: self.updated_count,
                skipped: self.processed_rows
                    - self.created_count
                    - self.updated_count
                    - self.failed_count,
                failed: self.failed_count,
            },
            cancel_requested: self.cancel_requested,
            error: self.error,
            created_at: from_db(self.created_at),
            finished_at: self.finished_at.map(from_db),
        })
    }
}

pub fn insert(
    conn: &mut Conn,
    owner: UserId,
    workspace: WorkspaceId,
    file_name: &str,
    now: DateTime<Utc>,
) -> Result<ImportId, StorageError> {
    let id: i64 = diesel::insert_into(imports::table)
        .values((
            imports::owner_user_id.eq(owner.0),
            imports::workspace_id.eq(workspace.0),
            imports::file_name.eq(file_name),
            imports::status.eq(ImportStatus::Uploaded.as_str()),
            imports::created_at.eq(to_db(now)),
        ))
        .returning(imports::id)
        .get_result(conn)?;
    Ok(ImportId(id))
}

pub fn get(conn: &mut Conn, owner: UserId, id: ImportId) -> Result<ImportRecord, StorageError> {
    imports::table
        .filter(imports::id.eq(id.0))
        .filter(imports::owner_user_id.eq(owner.0))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or(StorageError::NotFound)?
        .record()
}

/// The import whatever its owner: for the worker that runs it and recovery at start.
pub fn get_any(conn: &mut Conn, id: ImportId) -> Result<ImportRecord, StorageError> {
    imports::table
        .find(id.0)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or(StorageError::NotFound)?
        .record()
}

/// The workspace's imports, newest first.
pub fn for_workspace(
    conn: &mut Conn,
    owner: UserId,
    workspace: WorkspaceId,
    limit: i64,
) -> Result<Vec<ImportRecord>, StorageError> {
    imports::table
        .filter(imports::workspace_id.eq(workspace.0))
        .filter(imports::owner_user_id.eq(owner.0))
        .order(imports::id.desc())
        .limit(limit)
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::record)
        .collect()
}

/// Imports left `running` (by a crash or a stop), to be undone at start.
pub fn running(conn: &mut Conn) -> Result<Vec<ImportId>, StorageError> {
    Ok(imports::table
        .filter(imports::status.eq(ImportStatus::Running.as_str()))
        .select(imports::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(ImportId)
        .collect())
}

/// Claims the import for a run with these settings, resetting counts and earlier results.
/// Only an import waiting for its mapping, or one whose dry run is done, can be claimed, and
/// in one statement: of two requests racing to start it (a double click), one wins and the
/// other gets `false`, so an import never runs twice at once.
pub fn start(
    conn: &mut Conn,
    id: ImportId,
    settings: &ImportSettings,
    dry_run: bool,
    total_rows: i64,
) -> Result<bool, StorageError> {
    let claimed = diesel::update(
        imports::table.find(id.0).filter(
            imports::status
                .eq(ImportStatus::Uploaded.as_str())
                .or(imports::dry_run
                    .eq(true)
                    .and(imports::status.eq(ImportStatus::Done.as_str()))),
        ),
    )
    .set((
        imports::status.eq(ImportStatus::Running.as_str()),
        imports::dry_run.eq(dry_run),
        imports::settings.eq(serde_json::to_string(settings).unwrap_or_default()),
        imports::total_rows.eq(total_rows),
        imports::processed_rows.eq(0),
        imports::created_count.eq(0),
        imports::updated_count.eq(0),
        imports::failed_count.eq(0),
        imports::cancel_requested.eq(false),
        imports::error.eq(None::<String>),
        imports::finished_at.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    if claimed == 1 {
        diesel::delete(import_failures::table.filter(import_failures::import_id.eq(id.0)))
            .execute(conn)?;
    }
    Ok(claimed == 1)
}

pub fn progress(
    conn: &mut Conn,
    id: ImportId,
    processed: i64,
    counts: ImportCounts,
) -> Result<(), StorageError> {
    diesel::update(imports::table.find(id.0))
        .set((
            imports::processed_rows.eq(processed),
            imports::created_count.eq(counts.created),
            imports::updated_count.eq(counts.updated),
            imports::failed_count.eq(counts.failed),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn finish(
    conn: &mut Conn,
    id: ImportId,
    status: ImportStatus,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(imports::table.find(id.0))
        .set((
            imports::status.eq(status.as_str()),
            imports::error.eq(error),
            imports::finished_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn request_cancel(conn: &mut Conn, id: ImportId) -> Result<(), StorageError> {
    diesel::update(imports::table.find(id.0))
        .set(imports::cancel_requested.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn cancel_requested(conn: &mut Conn, id: ImportId) -> Result<bool, StorageError> {
    Ok(imports::table
        .find(id.0)
        .select(imports::cancel_requested)
        .first(conn)
        .optional()?
        .unwrap_or(true))
}

/// What the import did to a contact; the first record of a contact wins, so a contact the
/// import created and then updated (a repeated row) stays "created".
pub fn record_change(
    conn: &mut Conn,
    id: ImportId,
    contact: ContactId,
    created: bool,
    before_json: Option<&str>,
) -> Result<(), StorageError> {
    diesel::insert_or_ignore_into(import_changes::table)
        .values((
            import_changes::import_id.eq(id.0),
            import_changes::contact_id.eq(contact.0),
            import_changes::kind.eq(if created { "created" } else { "updated" }),
            import_changes::before_json.eq(before_json),
        ))
        .execute(conn)?;
    Ok(())
}

/// Contacts the import created (many per statement).
pub fn record_created(
    conn: &mut Conn,
    id: ImportId,
    contacts: &[ContactId],
) -> Result<(), StorageError> {
    let rows = contacts.iter().map(|c| {
        (
            import_changes::import_id.eq(id.0),
            import_changes::contact_id.eq(c.0),
            import_changes::kind.eq("created"),
        )
    });
    insert_in_chunks!(
        conn,
        diesel::insert_or_ignore_into,
        import_changes::table,
        rows,
        1000
    );
    Ok(())
}

/// One change to undo.
pub struct Change {
    pub contact: ContactId,
    pub created: bool,
    pub before_json: Option<String>,
}

/// Up to `limit` changes, newest contact first (undone in reverse).
pub fn changes(conn: &mut Conn, id: ImportId, limit: i64) -> Result<Vec<Change>, StorageError> {
    Ok(import_changes::table
        .filter(import_changes::import_id.eq(id.0))
        .order(import_changes::contact_id.desc())
        .limit(limit)
        .select((
            import_changes::contact_id,
            import_changes::kind,
            import_changes::before_json,
        ))
        .load::<(i64, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(contact, kind, before_json)| Change {
            contact: ContactId(contact),
            created: kind == "created",
            before_json,
        })
        .collect())
}

pub fn forget_changes(
    conn: &mut Conn,
    id: ImportId,
    contacts: &[ContactId],
) -> Result<(), StorageError> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.0).collect();
    diesel::delete(
        import_changes::table
            .filter(import_changes::import_id.eq(id.0))
            .filter(import_changes::contact_id.eq_any(ids)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn add_failure(
    conn: &mut Conn,
    id: ImportId,
    row_number: i64,
    reason: &str,
    cells: &[String],
) -> Result<(), StorageError> {
    diesel::insert_or_ignore_into(import_failures::table)
        .values((
            import_failures::import_id.eq(id.0),
            import_failures::row_number.eq(row_number),
            import_failures::reason.eq(reason),
            import_failures::cells.eq(serde_json::to_string(cells).unwrap_or_default()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Failed rows after `after` (a row number), in file order, at most `limit`.
pub fn failures(
    conn: &mut Conn,
    id: ImportId,
    after: i64,
    limit: i64,
) -> Result<Vec<FailedRow>, StorageError> {
    Ok(import_failures::table
        .filter(import_failures::import_id.eq(id.0))
        .filter(import_failures::row_number.gt(after))
        .order(import_failures::row_number)
        .limit(limit)
        .select((
            import_failures::row_number,
            import_failures::reason,
            import_failures::cells,
        ))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(row_number, reason, cells)| FailedRow {
            row_number,
            reason,
            cells: serde_json::from_str(&cells).unwrap_or_default(),
        })
        .collect())
}
