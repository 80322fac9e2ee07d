//! The `suppressions` table (addresses a workspace must not write to) and `send_pauses`
//! (workspaces whose sending a person paused).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::WorkspaceId;
use domain::messaging::{Channel, SuppressionReason};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{send_pauses, suppressions};
use crate::time::{from_db, to_db};

/// Adds an address; an address already suppressed keeps its first reason. True when added.
pub fn add(
    conn: &mut Conn,
    ws: WorkspaceId,
    channel: Channel,
    address: &str,
    reason: SuppressionReason,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let added = diesel::insert_or_ignore_into(suppressions::table)
        .values((
            suppressions::workspace_id.eq(ws.0),
            suppressions::channel.eq(channel.as_str()),
            suppressions::address.eq(address),
            suppressions::reason.eq(reason.as_str()),
            suppressions::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(added == 1)
}

pub fn remove(
    conn: &mut Conn,
    ws: WorkspaceId,
    channel: Channel,
    address: &str,
) -> Result<bool, StorageError> {
    let removed = diesel::delete(
        suppressions::table
            .filter(suppressions::workspace_id.eq(ws.0))
            .filter(suppressions::channel.eq(channel.as_str()))
            .filter(suppressions::address.eq(address)),
    )
    .execute(conn)?;
    Ok(removed == 1)
}

/// Why `address` is suppressed in the workspace, if it is.
pub fn find(
    conn: &mut Conn,
    ws: WorkspaceId,
    channel: Channel,
    address: &str,
) -> Result<Option<(SuppressionReason, DateTime<Utc>)>, StorageError> {
    let row: Option<(String, chrono::NaiveDateTime)> = suppressions::table
        .filter(suppressions::workspace_id.eq(ws.0))
        .filter(suppressions::channel.eq(channel.as_str()))
        .filter(suppressions::address.eq(address))
        .select((suppressions::reason, suppressions::created_at))
        .first(conn)
        .optional()?;
    row.map(|(reason, at)| {
        SuppressionReason::parse(&reason)
            .map(|r| (r, from_db(at)))
            .ok_or_else(|| StorageError::Corrupt(format!("unknown suppression reason {reason}")))
    })
    .transpose()
}

pub fn count(conn: &mut Conn, ws: WorkspaceId) -> Result<i64, StorageError> {
    Ok(suppressions::table
        .filter(suppressions::workspace_id.eq(ws.0))
        .count()
        .get_result(conn)?)
}

pub fn pause(conn: &mut Conn, ws: WorkspaceId, now: DateTime<Utc>) -> Result<(), StorageError> {
    diesel::insert_or_ignore_into(send_pauses::table)
        .values((
            send_pauses::workspace_id.eq(ws.0),
            send_pauses::paused_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn resume(conn: &mut Conn, ws: WorkspaceId) -> Result<(), StorageError> {
    diesel::delete(send_pauses::table.find(ws.0)).execute(conn)?;
    Ok(())
}

pub fn paused_since(
    conn: &mut Conn,
    ws: WorkspaceId,
) -> Result<Option<DateTime<Utc>>, StorageError> {
    Ok(send_pauses::table
        .find(ws.0)
        .select(send_pauses::paused_at)
        .first::<chrono::NaiveDateTime>(conn)
        .optional()?
        .map(from_db))
}
