//! The `inbound_messages` table: texts (and later emails) people sent us, with the contact
//! they came from when one matched, unread until someone opens them. Reached through the
//! user they were sent to.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{ContactId, UserId, WorkspaceId};
use domain::messaging::{Channel, InboundMessage};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::inbound_messages;
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = inbound_messages)]
struct Row {
    id: i64,
    workspace_id: Option<i64>,
    contact_id: Option<i64>,
    channel: String,
    sender: String,
    recipient: String,
    body: String,
    received_at: chrono::NaiveDateTime,
    read_at: Option<chrono::NaiveDateTime>,
}

impl From<Row> for InboundMessage {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            workspace_id: r.workspace_id.map(WorkspaceId),
            contact_id: r.contact_id.map(ContactId),
            channel: r.channel,
            sender: r.sender,
            recipient: r.recipient,
            body: r.body,
            received_at: from_db(r.received_at),
            read_at: r.read_at.map(from_db),
        }
    }
}

/// The parts of a new inbound message.
pub struct NewInbound<'a> {
    pub user: UserId,
    pub workspace: Option<WorkspaceId>,
    pub contact: Option<ContactId>,
    pub channel: Channel,
    pub provider_message_id: &'a str,
    pub sender: &'a str,
    pub recipient: &'a str,
    pub body: &'a str,
}

pub fn insert(
    conn: &mut Conn,
    new: &NewInbound<'_>,
    now: DateTime<Utc>,
) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(inbound_messages::table)
        .values((
            inbound_messages::user_id.eq(new.user.0),
            inbound_messages::workspace_id.eq(new.workspace.map(|w| w.0)),
            inbound_messages::contact_id.eq(new.contact.map(|c| c.0)),
            inbound_messages::channel.eq(new.channel.as_str()),
            inbound_messages::provider_message_id.eq(new.provider_message_id),
            inbound_messages::sender.eq(new.sender),
            inbound_messages::recipient.eq(new.recipient),
            inbound_messages::body.eq(new.body),
            inbound_messages::received_at.eq(to_db(now)),
        ))
        .returning(inbound_messages::id)
        .get_result(conn)?)
}

/// `user`'s unread messages, newest first.
pub fn unread(
    conn: &mut Conn,
    user: UserId,
    limit: i64,
) -> Result<Vec<InboundMessage>, StorageError> {
    Ok(inbound_messages::table
        .filter(inbound_messages::user_id.eq(user.0))
        .filter(inbound_messages::read_at.is_null())
        .order(inbound_messages::id.desc())
        .limit(limit)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(InboundMessage::from)
        .collect())
}

pub fn unread_count(conn: &mut Conn, user: UserId) -> Result<i64, StorageError> {
    Ok(inbound_messages::table
        .filter(inbound_messages::user_id.eq(user.0))
        .filter(inbound_messages::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Marks one of `user`'s messages read; false when it is not theirs (or already read).
pub fn mark_read(
    conn: &mut Conn,
    user: UserId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        inbound_messages::table
            .filter(inbound_messages::id.eq(id))
            .filter(inbound_messages::user_id.eq(user.0))
            .filter(inbound_messages::read_at.is_null()),
    )
    .set(inbound_messages::read_at.eq(to_db(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks every unread message from a contact read (its page was opened).
pub fn mark_contact_read(
    conn: &mut Conn,
    user: UserId,
    contact: ContactId,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    Ok(diesel::update(
        inbound_messages::table
            .filter(inbound_messages::user_id.eq(user.0))
            .filter(inbound_messages::contact_id.eq(contact.0))
            .filter(inbound_messages::read_at.is_null()),
    )
    .set(inbound_messages::read_at.eq(to_db(now)))
    .execute(conn)?)
}

/// Unread messages from one contact.
pub fn unread_from(conn: &mut Conn, contact: ContactId) -> Result<i64, StorageError> {
    Ok(inbound_messages::table
        .filter(inbound_messages::contact_id.eq(contact.0))
        .filter(inbound_messages::read_at.is_null())
        .count()
        .get_result(conn)?)
}
