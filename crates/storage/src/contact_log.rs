//! The `contact_log` table: a contact's communication log, newest first, paged by a cursor so
//! "load more" stays fast however long the log grows.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::contact_log::{LogEntry, LogKind, NewLogEntry};
use domain::ids::{ContactId, LogEntryId, UserId};

use crate::bulk_insert::{all_inserted, insert_in_chunks};
use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::contact_log;
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = contact_log)]
struct LogRow {
    id: i64,
    contact_id: i64,
    kind: String,
    summary: String,
    body: String,
    meta_json: Option<String>,
    occurred_at: chrono::NaiveDateTime,
    actor_user_id: Option<i64>,
}

impl LogRow {
    fn into_domain(self) -> Result<LogEntry, StorageError> {
        Ok(LogEntry {
            id: LogEntryId(self.id),
            contact_id: ContactId(self.contact_id),
            kind: LogKind::parse(&self.kind)
                .ok_or_else(|| StorageError::Corrupt(format!("log kind {}", self.kind)))?,
            summary: self.summary,
            body: self.body,
            meta: self.meta_json.and_then(|m| serde_json::from_str(&m).ok()),
            occurred_at: from_db(self.occurred_at),
            actor_user_id: self.actor_user_id.map(UserId),
        })
    }
}

pub fn insert(
    conn: &mut Conn,
    contact: ContactId,
    entry: &NewLogEntry,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<LogEntryId, StorageError> {
    let id: i64 = diesel::insert_into(contact_log::table)
        .values((
            contact_log::contact_id.eq(contact.0),
            contact_log::kind.eq(entry.kind.as_str()),
            contact_log::summary.eq(&entry.summary),
            contact_log::body.eq(&entry.body),
            contact_log::meta_json.eq(entry.meta.as_ref().map(|m| m.to_string())),
            contact_log::occurred_at.eq(to_db(entry.occurred_at)),
            contact_log::actor_user_id.eq(actor.map(|u| u.0)),
            contact_log::created_at.eq(to_db(now)),
        ))
        .returning(contact_log::id)
        .get_result(conn)?;
    Ok(LogEntryId(id))
}

/// The same entry on many contacts (an import's "Imported from ..."), many per statement.
pub fn insert_many(
    conn: &mut Conn,
    contacts: &[ContactId],
    entry: &NewLogEntry,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let meta = entry.meta.as_ref().map(|m| m.to_string());
    let rows = contacts.iter().map(|contact| {
        (
            contact_log::contact_id.eq(contact.0),
            contact_log::kind.eq(entry.kind.as_str()),
            contact_log::summary.eq(entry.summary.clone()),
            contact_log::body.eq(entry.body.clone()),
            contact_log::meta_json.eq(meta.clone()),
            contact_log::occurred_at.eq(to_db(entry.occurred_at)),
            contact_log::actor_user_id.eq(actor.map(|u| u.0)),
            contact_log::created_at.eq(to_db(now)),
        )
    });
    // OR IGNORE, counted: a statement that cannot fail needs no statement journal.
    let inserted = insert_in_chunks!(
        conn,
        diesel::insert_or_ignore_into,
        contact_log::table,
        rows,
        1000
    );
    all_inserted("log entries", inserted, contacts.len())
}

pub fn get(conn: &mut Conn, id: LogEntryId) -> Result<LogEntry, StorageError> {
    let row: LogRow = contact_log::table
        .find(id.0)
        .select(LogRow::as_select())
        .first(conn)?;
    row.into_domain()
}

/// Where the previous page ended: the last entry's time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: LogEntryId,
}

/// Up to `limit` entries older than `after` (newest first), optionally of one kind.
pub fn page(
    conn: &mut Conn,
    contact: ContactId,
    kind: Option<LogKind>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<LogEntry>, StorageError> {
    let mut q = contact_log::table
        .filter(contact_log::contact_id.eq(contact.0))
        .into_boxed();
    if let Some(kind) = kind {
        q = q.filter(contact_log::kind.eq(kind.as_str()));
    }
    if let Some(c) = after {
        let at = to_db(c.occurred_at);
        q = q.filter(
            contact_log::occurred_at.lt(at).or(contact_log::occurred_at
                .eq(at)
                .and(contact_log::id.lt(c.id.0))),
        );
    }
    let rows: Vec<LogRow> = q
        .order((contact_log::occurred_at.desc(), contact_log::id.desc()))
        .limit(limit)
        .select(LogRow::as_select())
        .load(conn)?;
    rows.into_iter().map(LogRow::into_domain).collect()
}

/// Moves every entry of `from` to `to` (merging contacts keeps the whole history).
pub fn reassign(conn: &mut Conn, from: ContactId, to: ContactId) -> Result<usize, StorageError> {
    Ok(
        diesel::update(contact_log::table.filter(contact_log::contact_id.eq(from.0)))
            .set(contact_log::contact_id.eq(to.0))
            .execute(conn)?,
    )
}
