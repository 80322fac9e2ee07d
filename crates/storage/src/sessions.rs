//! The `sessions` table: server-side sessions, found by the SHA-256 of their cookie token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{SessionId, UserId};
use domain::session::SessionInfo;

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::sessions;
use crate::time::{from_db, to_db};

/// A live session as the session layer needs it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: Option<UserId>,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: i64,
    user_id: Option<i64>,
    state: String,
    user_agent: String,
    ip: String,
    created_at: chrono::NaiveDateTime,
    last_seen_at: chrono::NaiveDateTime,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: Option<UserId>,
    pub state: &'a str,
    pub user_agent: &'a str,
    pub ip: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut Conn, new: NewSession<'_>) -> Result<SessionId, StorageError> {
    let id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(new.token_hash),
            sessions::user_id.eq(new.user_id.map(|u| u.0)),
            sessions::state.eq(new.state),
            sessions::user_agent.eq(new.user_agent),
            sessions::ip.eq(new.ip),
            sessions::created_at.eq(to_db(new.now)),
            sessions::last_seen_at.eq(to_db(new.now)),
            sessions::expires_at.eq(to_db(new.expires_at)),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    Ok(SessionId(id))
}

/// The session with this token hash, if it has not expired.
pub fn load(
    conn: &mut Conn,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRecord>, StorageError> {
    let row: Option<SessionRow> = sessions::table
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(to_db(now)))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|r| SessionRecord {
        id: SessionId(r.id),
        user_id: r.user_id.map(UserId),
        state: r.state,
        created_at: from_db(r.created_at),
        last_seen_at: from_db(r.last_seen_at),
    }))
}

/// Replaces the state of a session (and the user it belongs to).
pub fn update_state(
    conn: &mut Conn,
    token_hash: &str,
    user_id: Option<UserId>,
    state: &str,
) -> Result<bool, StorageError> {
    let n = diesel::update(sessions::table.filter(sessions::token_hash.eq(token_hash)))
        .set((
            sessions::user_id.eq(user_id.map(|u| u.0)),
            sessions::state.eq(state),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks the session as used now and moves its expiry.
pub fn touch(
    conn: &mut Conn,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(sessions::table.filter(sessions::token_hash.eq(token_hash)))
        .set((
            sessions::last_seen_at.eq(to_db(now)),
            sessions::expires_at.eq(to_db(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_by_token(conn: &mut Conn, token_hash: &str) -> Result<(), StorageError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)?;
    Ok(())
}

/// The user's live sessions, most recently used first.
pub fn list_for_user(
    conn: &mut Conn,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<SessionInfo>, StorageError> {
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::user_id.eq(user_id.0))
        .filter(sessions::expires_at.gt(to_db(now)))
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| SessionInfo {
            id: SessionId(r.id),
            user_id,
            user_agent: r.user_agent,
            ip: r.ip,
            created_at: from_db(r.created_at),
            last_seen_at: from_db(r.last_seen_at),
        })
        .collect())
}

/// Ends one of the user's sessions. Another user's session id is "not found".
pub fn delete_for_user(
    conn: &mut Conn,
    user_id: UserId,
    id: SessionId,
) -> Result<(), StorageError> {
    let n = diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id.0))
            .filter(sessions::user_id.eq(user_id.0)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Ends every session of the user except the one with `keep_token_hash` (if given).
pub fn delete_others(
    conn: &mut Conn,
    user_id: UserId,
    keep: Option<SessionId>,
) -> Result<usize, StorageError> {
    let query = sessions::table
        .filter(sessions::user_id.eq(user_id.0))
        .filter(sessions::id.ne(keep.map(|k| k.0).unwrap_or(-1)));
    Ok(diesel::delete(query).execute(conn)?)
}

pub fn delete_expired(conn: &mut Conn, now: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::expires_at.le(to_db(now))))
            .execute(conn)?,
    )
}
