//! The `contact_shares` table. Owners see their shares through their contacts; recipients see
//! only live shares addressed to them, so nothing else of the owner's is reachable.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::contact::Share;
use domain::ids::{ContactId, ShareId, UserId};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{contact_shares, users};
use crate::time::{from_db, to_db};

type Row = (i64, i64, i64, i64, bool, chrono::NaiveDateTime);

fn shares(conn: &mut Conn, rows: Vec<Row>) -> Result<Vec<Share>, StorageError> {
    let mut out = Vec::new();
    for (id, contact, owner, recipient, include_log, created) in rows {
        let owner_name: String = users::table
            .find(owner)
            .select(users::display_name)
            .first(conn)?;
        let recipient_username: String = users::table
            .find(recipient)
            .select(users::username)
            .first(conn)?;
        out.push(Share {
            id: ShareId(id),
            contact_id: ContactId(contact),
            owner_user_id: UserId(owner),
            owner_name,
            recipient_user_id: UserId(recipient),
            recipient_username,
            include_log,
            created_at: from_db(created),
        });
    }
    Ok(out)
}

const COLUMNS: (
    contact_shares::id,
    contact_shares::contact_id,
    contact_shares::owner_user_id,
    contact_shares::recipient_user_id,
    contact_shares::include_log,
    contact_shares::created_at,
) = (
    contact_shares::id,
    contact_shares::contact_id,
    contact_shares::owner_user_id,
    contact_shares::recipient_user_id,
    contact_shares::include_log,
    contact_shares::created_at,
);

pub fn insert(
    conn: &mut Conn,
    contact: ContactId,
    owner: UserId,
    recipient: UserId,
    include_log: bool,
    now: DateTime<Utc>,
) -> Result<ShareId, StorageError> {
    let id: i64 = diesel::insert_into(contact_shares::table)
        .values((
            contact_shares::contact_id.eq(contact.0),
            contact_shares::owner_user_id.eq(owner.0),
            contact_shares::recipient_user_id.eq(recipient.0),
            contact_shares::include_log.eq(include_log),
            contact_shares::created_at.eq(to_db(now)),
        ))
        .returning(contact_shares::id)
        .get_result(conn)?;
    Ok(ShareId(id))
}

/// Live shares of one contact (for its owner's page).
pub fn of_contact(conn: &mut Conn, contact: ContactId) -> Result<Vec<Share>, StorageError> {
    let rows: Vec<Row> = contact_shares::table
        .filter(contact_shares::contact_id.eq(contact.0))
        .filter(contact_shares::revoked_at.is_null())
        .order(contact_shares::id.asc())
        .select(COLUMNS)
        .load(conn)?;
    shares(conn, rows)
}

/// Live shares addressed to `recipient`, newest first.
pub fn to_recipient(conn: &mut Conn, recipient: UserId) -> Result<Vec<Share>, StorageError> {
    let rows: Vec<Row> = contact_shares::table
        .filter(contact_shares::recipient_user_id.eq(recipient.0))
        .filter(contact_shares::revoked_at.is_null())
        .order(contact_shares::id.desc())
        .select(COLUMNS)
        .load(conn)?;
    shares(conn, rows)
}

/// One live share, only for its recipient.
pub fn for_recipient(
    conn: &mut Conn,
    recipient: UserId,
    id: ShareId,
) -> Result<Share, StorageError> {
    let row: Row = contact_shares::table
        .filter(contact_shares::id.eq(id.0))
        .filter(contact_shares::recipient_user_id.eq(recipient.0))
        .filter(contact_shares::revoked_at.is_null())
        .select(COLUMNS)
        .first(conn)?;
    shares(conn, vec![row])?.pop().ok_or(StorageError::NotFound)
}

/// Revokes the live share of `contact` with `recipient`; false when there was none.
pub fn revoke(
    conn: &mut Conn,
    contact: ContactId,
    recipient: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        contact_shares::table
            .filter(contact_shares::contact_id.eq(contact.0))
            .filter(contact_shares::recipient_user_id.eq(recipient.0))
            .filter(contact_shares::revoked_at.is_null()),
    )
    .set(contact_shares::revoked_at.eq(to_db(now)))
    .execute(conn)?;
    Ok(n > 0)
}
