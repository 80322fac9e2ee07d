//! The `messages` table (the durable send queue: one row per message and recipient, unique by
//! contact, channel and dedupe key) and `message_events` (what happened to each). A message is
//! reached through its workspace's owner, so another user's message is "not found"; the worker
//! and webhooks, which act for the installation, use the unscoped functions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{ContactId, MessageId, UserId, WorkspaceId};
use domain::messaging::{Channel, Message, MessageEvent, MessageStatus, NewMessage};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{message_contents, message_events, messages, send_pauses, workspaces};
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = messages)]
struct Row {
    id: i64,
    workspace_id: i64,
    contact_id: i64,
    channel: String,
    recipient: String,
    marketing: bool,
    status: String,
    provider: Option<String>,
    provider_message_id: Option<String>,
    attempts: i64,
    next_attempt_at: chrono::NaiveDateTime,
    last_error: Option<String>,
    created_at: chrono::NaiveDateTime,
    sent_at: Option<chrono::NaiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = message_contents)]
struct Content {
    subject: String,
    body_text: String,
    body_html: Option<String>,
    rfc_message_id: Option<String>,
    headers: String,
}

type Full = (Row, Content);

fn message((row, content): Full) -> Result<Message, StorageError> {
    Ok(Message {
        id: MessageId(row.id),
        workspace_id: WorkspaceId(row.workspace_id),
        contact_id: ContactId(row.contact_id),
        channel: Channel::parse(&row.channel)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown channel {}", row.channel)))?,
        recipient: row.recipient,
        subject: content.subject,
        body_text: content.body_text,
        body_html: content.body_html,
        marketing: row.marketing,
        status: MessageStatus::parse(&row.status).ok_or_else(|| {
            StorageError::Corrupt(format!("unknown message status {}", row.status))
        })?,
        provider: row.provider,
        provider_message_id: row.provider_message_id,
        rfc_message_id: content.rfc_message_id,
        headers: serde_json::from_str(&content.headers).unwrap_or_default(),
        attempts: row.attempts,
        next_attempt_at: from_db(row.next_attempt_at),
        last_error: row.last_error,
        created_at: from_db(row.created_at),
        sent_at: row.sent_at.map(from_db),
    })
}

fn messages_of(rows: Vec<Full>) -> Result<Vec<Message>, StorageError> {
    rows.into_iter().map(message).collect()
}

fn full() -> (
    diesel::helper_types::AsSelect<Row, diesel::sqlite::Sqlite>,
    diesel::helper_types::AsSelect<Content, diesel::sqlite::Sqlite>,
) {
    (Row::as_select(), Content::as_select())
}

/// Queues a message. When the same dedupe key was queued before for this contact and channel,
/// nothing is added and the earlier message's id comes back with `false`.
pub fn insert(
    conn: &mut Conn,
    ws: WorkspaceId,
    by: Option<UserId>,
    new: &NewMessage,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(MessageId, bool), StorageError> {
    let headers = serde_json::to_string(&new.headers).unwrap_or_else(|_| "[]".into());
    let inserted: Option<i64> = diesel::insert_into(messages::table)
        .values((
            messages::workspace_id.eq(ws.0),
            messages::contact_id.eq(new.contact_id.0),
            messages::channel.eq(new.channel.as_str()),
            messages::dedupe_key.eq(&new.dedupe_key),
            messages::recipient.eq(&new.recipient),
            messages::marketing.eq(new.marketing),
            messages::status.eq(MessageStatus::Queued.as_str()),
            messages::next_attempt_at.eq(to_db(due)),
            messages::created_at.eq(to_db(now)),
            messages::updated_at.eq(to_db(now)),
        ))
        .on_conflict_do_nothing()
        .returning(messages::id)
        .get_result(conn)
        .optional()?;
    if let Some(id) = inserted {
        diesel::insert_into(message_contents::table)
            .values((
                message_contents::message_id.eq(id),
                message_contents::created_by_user_id.eq(by.map(|u| u.0)),
                message_contents::subject.eq(&new.subject),
                message_contents::body_text.eq(&new.body_text),
                message_contents::body_html.eq(new.body_html.as_deref()),
                message_contents::rfc_message_id.eq(new.rfc_message_id.as_deref()),
                message_contents::headers.eq(headers),
            ))
            .execute(conn)?;
        return Ok((MessageId(id), true));
    }
    let id: i64 = messages::table
        .filter(messages::contact_id.eq(new.contact_id.0))
        .filter(messages::channel.eq(new.channel.as_str()))
        .filter(messages::dedupe_key.eq(&new.dedupe_key))
        .select(messages::id)
        .first(conn)?;
    Ok((MessageId(id), false))
}

/// A message of one of `owner`'s workspaces.
pub fn get(conn: &mut Conn, owner: UserId, id: MessageId) -> Result<Message, StorageError> {
    message(
        messages::table
            .inner_join(workspaces::table)
            .inner_join(message_contents::table)
            .filter(messages::id.eq(id.0))
            .filter(workspaces::owner_user_id.eq(owner.0))
            .select(full())
            .first(conn)?,
    )
}

/// Any message, for the worker and webhooks.
pub fn get_any(conn: &mut Conn, id: MessageId) -> Result<Message, StorageError> {
    message(
        messages::table
            .inner_join(message_contents::table)
            .filter(messages::id.eq(id.0))
            .select(full())
            .first(conn)?,
    )
}

pub fn find_by_provider_id(
    conn: &mut Conn,
    provider: &str,
    provider_message_id: &str,
) -> Result<Option<Message>, StorageError> {
    messages::table
        .inner_join(message_contents::table)
        .filter(messages::provider.eq(provider))
        .filter(messages::provider_message_id.eq(provider_message_id))
        .select(full())
        .first(conn)
        .optional()?
        .map(message)
        .transpose()
}

/// The message of a workspace that carried this Message-ID (what a reply's In-Reply-To names).
pub fn find_by_rfc_id(
    conn: &mut Conn,
    ws: WorkspaceId,
    rfc_message_id: &str,
) -> Result<Option<MessageId>, StorageError> {
    Ok(messages::table
        .inner_join(message_contents::table)
        .filter(messages::workspace_id.eq(ws.0))
        .filter(message_contents::rfc_message_id.eq(rfc_message_id))
        .select(messages::id)
        .first::<i64>(conn)
        .optional()?
        .map(MessageId))
}

/// Messages due now in workspaces whose sending is not paused, oldest first.
pub fn due(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<Vec<Message>, StorageError> {
    let paused = send_pauses::table.select(send_pauses::workspace_id);
    messages_of(
        messages::table
            .inner_join(message_contents::table)
            .filter(messages::status.eq(MessageStatus::Queued.as_str()))
            .filter(messages::next_attempt_at.le(to_db(now)))
            .filter(messages::workspace_id.ne_all(paused))
            .order((messages::next_attempt_at, messages::id))
            .limit(limit)
            .select(full())
            .load(conn)?,
    )
}

/// When the next queued message falls due, so the worker can sleep until then.
pub fn next_due(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, StorageError> {
    Ok(messages::table
        .filter(messages::status.eq(MessageStatus::Queued.as_str()))
        .select(diesel::dsl::min(messages::next_attempt_at))
        .first::<Option<chrono::NaiveDateTime>>(conn)?
        .map(from_db))
}

/// Moves a message from one of `from` to `to`; false when it was in none of them (someone
/// else moved it first). Every transition of the queue goes through here.
pub fn transition(
    conn: &mut Conn,
    id: MessageId,
    from: &[MessageStatus],
    to: MessageStatus,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed = diesel::update(
        messages::table
            .filter(messages::id.eq(id.0))
            .filter(messages::status.eq_any(from)),
    )
    .set((
        messages::status.eq(to.as_str()),
        messages::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Claims a queued message for sending: counts the attempt and names the provider.
pub fn claim(
    conn: &mut Conn,
    id: MessageId,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = diesel::update(
        messages::table
            .filter(messages::id.eq(id.0))
            .filter(messages::status.eq(MessageStatus::Queued.as_str())),
    )
    .set((
        messages::status.eq(MessageStatus::Sending.as_str()),
        messages::provider.eq(provider),
        messages::attempts.eq(messages::attempts + 1),
        messages::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_sent(
    conn: &mut Conn,
    id: MessageId,
    provider_message_id: &str,
    headers: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(messages::table.find(id.0))
        .set((
            messages::status.eq(MessageStatus::Sent.as_str()),
            messages::provider_message_id.eq(provider_message_id),
            messages::last_error.eq(None::<String>),
            messages::sent_at.eq(to_db(now)),
            messages::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    diesel::update(message_contents::table.find(id.0))
        .set(
            message_contents::headers
                .eq(serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())),
        )
        .execute(conn)?;
    Ok(())
}

/// Records the provider's id for a message found by other means (a webhook naming it).
pub fn set_provider_id(
    conn: &mut Conn,
    id: MessageId,
    provider_message_id: &str,
) -> Result<(), StorageError> {
    diesel::update(messages::table.find(id.0))
        .set(messages::provider_message_id.eq(provider_message_id))
        .execute(conn)?;
    Ok(())
}

pub fn set_error(
    conn: &mut Conn,
    id: MessageId,
    status: MessageStatus,
    error: &str,
    next_attempt_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(messages::table.find(id.0))
        .set((
            messages::status.eq(status.as_str()),
            messages::last_error.eq(error),
            messages::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    if let Some(at) = next_attempt_at {
        diesel::update(messages::table.find(id.0))
            .set(messages::next_attempt_at.eq(to_db(at)))
            .execute(conn)?;
    }
    Ok(())
}

/// Puts a message back in the queue to leave at `at` (quiet hours, a resend).
pub fn requeue(
    conn: &mut Conn,
    id: MessageId,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(messages::table.find(id.0))
        .set((
            messages::status.eq(MessageStatus::Queued.as_str()),
            messages::next_attempt_at.eq(to_db(at)),
            messages::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Messages left in `sending` by a process that stopped: their fate is unknown.
pub fn in_flight(conn: &mut Conn) -> Result<Vec<MessageId>, StorageError> {
    Ok(messages::table
        .filter(messages::status.eq(MessageStatus::Sending.as_str()))
        .select(messages::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(MessageId)
        .collect())
}

pub fn add_event(
    conn: &mut Conn,
    id: MessageId,
    kind: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::insert_into(message_events::table)
        .values((
            message_events::message_id.eq(id.0),
            message_events::kind.eq(kind),
            message_events::detail.eq(detail),
            message_events::occurred_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn events(conn: &mut Conn, id: MessageId) -> Result<Vec<MessageEvent>, StorageError> {
    let rows: Vec<(String, String, chrono::NaiveDateTime)> = message_events::table
        .filter(message_events::message_id.eq(id.0))
        .order(message_events::id)
        .select((
            message_events::kind,
            message_events::detail,
            message_events::occurred_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(kind, detail, at)| MessageEvent {
            kind,
            detail,
            occurred_at: from_db(at),
        })
        .collect())
}

/// A workspace's messages in some states, newest first (the queue and Outbox pages).
pub fn list(
    conn: &mut Conn,
    owner: UserId,
    ws: WorkspaceId,
    statuses: &[MessageStatus],
    provider: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>, StorageError> {
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let mut query = messages::table
        .inner_join(workspaces::table)
        .inner_join(message_contents::table)
        .filter(messages::workspace_id.eq(ws.0))
        .filter(workspaces::owner_user_id.eq(owner.0))
        .filter(messages::status.eq_any(statuses))
        .order(messages::id.desc())
        .limit(limit)
        .select(full())
        .into_boxed();
    if let Some(provider) = provider {
        query = query.filter(messages::provider.eq(provider));
    }
    messages_of(query.load(conn)?)
}

/// How many of a workspace's messages are in each state.
pub fn counts(conn: &mut Conn, ws: WorkspaceId) -> Result<Vec<(MessageStatus, i64)>, StorageError> {
    let rows: Vec<(String, i64)> = messages::table
        .filter(messages::workspace_id.eq(ws.0))
        .group_by(messages::status)
        .select((messages::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, n)| MessageStatus::parse(&s).map(|s| (s, n)))
        .collect())
}
