//! The `backups` table, and taking a consistent snapshot of the live database.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::backups;
use crate::time::{from_db, to_db};

/// A backup as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub trigger: String,
    pub ok: bool,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub duration_ms: i64,
    pub row_counts: BTreeMap<String, i64>,
    pub error: Option<String>,
    /// Where copies of the archive were written.
    pub copies: Vec<String>,
}

type Row = (
    i64,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn record(
    (id, started, finished, trigger, outcome, file, size, ms, counts, error, copies): Row,
) -> BackupRecord {
    BackupRecord {
        id,
        started_at: from_db(started),
        finished_at: from_db(finished),
        trigger,
        ok: outcome == "ok",
        file_name: file,
        size_bytes: size,
        duration_ms: ms,
        row_counts: counts
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
        error,
        copies: copies
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
    }
}

pub struct NewBackup<'a> {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub trigger: &'a str,
    pub ok: bool,
    pub file_name: Option<&'a str>,
    pub size_bytes: Option<i64>,
    pub row_counts: Option<&'a BTreeMap<String, i64>>,
    pub error: Option<&'a str>,
}

pub fn insert(conn: &mut Conn, new: NewBackup<'_>) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(backups::table)
        .values((
            backups::started_at.eq(to_db(new.started_at)),
            backups::finished_at.eq(to_db(new.finished_at)),
            backups::trigger.eq(new.trigger),
            backups::outcome.eq(if new.ok { "ok" } else { "failed" }),
            backups::file_name.eq(new.file_name),
            backups::size_bytes.eq(new.size_bytes),
            backups::duration_ms.eq((new.finished_at - new.started_at).num_milliseconds()),
            backups::row_counts.eq(new
                .row_counts
                .map(|c| serde_json::to_string(c).unwrap_or_default())),
            backups::error.eq(new.error),
        ))
        .returning(backups::id)
        .get_result(conn)?)
}

/// The most recent backups first.
pub fn recent(conn: &mut Conn, limit: i64) -> Result<Vec<BackupRecord>, StorageError> {
    let rows: Vec<Row> = backups::table
        .order(backups::id.desc())
        .limit(limit)
        .select((
            backups::id,
            backups::started_at,
            backups::finished_at,
            backups::trigger,
            backups::outcome,
            backups::file_name,
            backups::size_bytes,
            backups::duration_ms,
            backups::row_counts,
            backups::error,
            backups::copies,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(record).collect())
}

/// Records where copies of a backup were written, and any error in making them.
pub fn set_copies(
    conn: &mut Conn,
    id: i64,
    copies: &[String],
    error: Option<&str>,
) -> Result<(), StorageError> {
    diesel::update(backups::table.find(id))
        .set((
            backups::copies.eq(serde_json::to_string(copies).unwrap_or_default()),
            backups::error.eq(error),
            backups::outcome.eq(if error.is_some() { "failed" } else { "ok" }),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes a consistent copy of the live database to `dest` with `VACUUM INTO`, which reads one
/// snapshot while other connections keep writing. `dest` must not exist.
pub fn snapshot(conn: &mut Conn, dest: &Path) -> Result<(), StorageError> {
    let path = dest
        .to_str()
        .ok_or_else(|| StorageError::Open("the backup path is not valid UTF-8".into()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(path)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Row counts of every table (FTS shadow tables included), to compare a copy with its source.
pub fn row_counts(conn: &mut Conn) -> Result<BTreeMap<String, i64>, StorageError> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .load(conn)?;
    let mut counts = BTreeMap::new();
    for Name { name } in names {
        // Names come from the schema itself, quoted as identifiers.
        let rows: Vec<Count> = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM \"{}\"",
            name.replace('"', "\"\"")
        ))
        .load(conn)?;
        counts.insert(name, rows.first().map_or(0, |c| c.n));
    }
    Ok(counts)
}
