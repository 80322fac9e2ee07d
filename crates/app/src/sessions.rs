//! Server-side sessions. The browser holds a random token; the database holds its SHA-256, the
//! user it signs in, and the session's state. Idle and absolute limits are checked on every
//! load, and the idle clock is moved at most once a minute so browsing does not turn into writes.

use chrono::{DateTime, Utc};
use domain::ids::{SessionId, UserId};
use domain::session::SessionInfo;
use storage::sessions::{self, NewSession};

use crate::secrets::{random_token, sha256_hex};
use crate::{App, AppError, Caller};

/// How often the last-seen time is written back: once a minute, or more often when the idle
/// limit is short, so an active session never looks idle.
fn touch_every(limits: &domain::session::SessionLimits) -> chrono::Duration {
    chrono::Duration::seconds(60).min(limits.idle / 4)
}

/// A live session as the web layer's session store needs it.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    pub id: SessionId,
    pub user_id: Option<UserId>,
    pub state: String,
}

/// What the web layer saves with a session; `user_agent` and `ip` are shown in the session list.
pub struct SessionWrite<'a> {
    pub user_id: Option<UserId>,
    pub state: &'a str,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

fn expiry(app: &App, created_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let limits = app.settings().session_limits();
    (now + limits.idle).min(created_at + limits.absolute)
}

/// Stores a new session and returns its token (to put in the cookie).
pub fn create(app: &App, write: SessionWrite<'_>) -> Result<String, AppError> {
    let token = random_token(32);
    let now = Utc::now();
    let hash = sha256_hex(&token);
    app.db().write(|conn| {
        sessions::insert(
            conn,
            NewSession {
                token_hash: &hash,
                user_id: write.user_id,
                state: write.state,
                user_agent: write.user_agent,
                ip: write.ip,
                now,
                expires_at: expiry(app, now, now),
            },
        )
    })?;
    Ok(token)
}

/// The session for `token`, if it exists and has not passed its idle or absolute limit.
pub fn load(app: &App, token: &str) -> Result<Option<LoadedSession>, AppError> {
    let hash = sha256_hex(token);
    let now = Utc::now();
    let Some(record) = app.db().read(|c| sessions::load(c, &hash, now))? else {
        return Ok(None);
    };
    let limits = app.settings().session_limits();
    if limits.is_expired(record.created_at, record.last_seen_at, now) {
        app.db().write(|c| sessions::delete_by_token(c, &hash))?;
        return Ok(None);
    }
    if now - record.last_seen_at >= touch_every(&limits) {
        let expires = expiry(app, record.created_at, now);
        app.db()
            .write(|c| sessions::touch(c, &hash, now, expires))?;
    }
    Ok(Some(LoadedSession {
        id: record.id,
        user_id: record.user_id,
        state: record.state,
    }))
}

pub fn update(app: &App, token: &str, write: SessionWrite<'_>) -> Result<bool, AppError> {
    let hash = sha256_hex(token);
    Ok(app
        .db()
        .write(|c| sessions::update_state(c, &hash, write.user_id, write.state))?)
}

pub fn delete(app: &App, token: &str) -> Result<(), AppError> {
    let hash = sha256_hex(token);
    Ok(app.db().write(|c| sessions::delete_by_token(c, &hash))?)
}

pub fn list(app: &App, user_id: UserId) -> Result<Vec<SessionInfo>, AppError> {
    Ok(app
        .db()
        .read(|c| sessions::list_for_user(c, user_id, Utc::now()))?)
}

/// Ends one of the caller's sessions (signs that device out).
pub fn end(app: &App, caller: &Caller, id: SessionId) -> Result<(), AppError> {
    app.db().write(|conn| {
        sessions::delete_for_user(conn, caller.user_id, id)?;
        storage::audit::insert(
            conn,
            &caller.audit("session.end", "session").entity(id),
            Utc::now(),
        )?;
        Ok(())
    })
}

/// Ends all of the caller's sessions but `keep`.
pub fn end_others(app: &App, caller: &Caller, keep: Option<SessionId>) -> Result<usize, AppError> {
    app.db().write(|conn| {
        let n = sessions::delete_others(conn, caller.user_id, keep)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("session.end_others", "session")
                .after(&serde_json::json!({ "ended": n })),
            Utc::now(),
        )?;
        Ok(n)
    })
}
