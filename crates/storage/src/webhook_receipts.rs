//! The `webhook_receipts` table: provider deliveries (and Mailgun's one-time tokens) already
//! applied. Recording one in the transaction of its effect makes a repeat change nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::webhook_receipts;
use crate::time::to_db;

/// Records `(provider, event_id)`; false when it was recorded before (a repeat).
pub fn record(
    conn: &mut Conn,
    provider: &str,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let added = diesel::insert_or_ignore_into(webhook_receipts::table)
        .values((
            webhook_receipts::provider.eq(provider),
            webhook_receipts::event_id.eq(event_id),
            webhook_receipts::received_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(added == 1)
}

/// Forgets receipts older than `before` (providers stop retrying after a day or so).
pub fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        webhook_receipts::table.filter(webhook_receipts::received_at.lt(to_db(before))),
    )
    .execute(conn)?)
}
