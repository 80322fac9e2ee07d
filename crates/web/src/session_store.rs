//! actix-session's store, backed by the `sessions` table through `app::sessions`.
//!
//! The cookie carries a random token; only its hash is stored. The store lifts the user id, user
//! agent and address out of the state into columns (for "Where you're signed in"), and adds the
//! session's row id to the loaded state as `_sid` so pages can tell which session is this one.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use app::App;
use app::sessions::SessionWrite;
use domain::ids::UserId;

pub const KEY_USER: &str = "uid";
pub const KEY_SESSION_ID: &str = "_sid";
pub const KEY_USER_AGENT: &str = "ua";
pub const KEY_IP: &str = "ip";

type State = HashMap<String, String>;

pub struct SqliteSessionStore {
    app: App,
}

impl SqliteSessionStore {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

struct Columns {
    user_id: Option<UserId>,
    user_agent: String,
    ip: String,
    state: String,
}

fn columns(mut state: State) -> Result<Columns, anyhow::Error> {
    state.remove(KEY_SESSION_ID);
    let user_id = state
        .get(KEY_USER)
        .and_then(|v| serde_json::from_str::<i64>(v).ok())
        .map(UserId);
    let text = |key: &str| {
        state
            .get(key)
            .and_then(|v| serde_json::from_str::<String>(v).ok())
            .unwrap_or_default()
    };
    let user_agent: String = text(KEY_USER_AGENT).chars().take(300).collect();
    let ip = text(KEY_IP);
    let state = serde_json::to_string(&state).map_err(anyhow::Error::from)?;
    Ok(Columns {
        user_id,
        user_agent,
        ip,
        state,
    })
}

impl SessionStore for SqliteSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let token = session_key.as_ref().to_owned();
        let loaded = crate::state::blocking(&self.app, move |app| app::sessions::load(app, &token))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some(session) = loaded else {
            return Ok(None);
        };
        let mut state: State = serde_json::from_str(&session.state)
            .map_err(|e| LoadError::Deserialization(e.into()))?;
        state.insert(KEY_SESSION_ID.into(), session.id.0.to_string());
        Ok(Some(state))
    }

    async fn save(&self, session_state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let cols = columns(session_state).map_err(SaveError::Serialization)?;
        let token = crate::state::blocking(&self.app, move |app| {
            app::sessions::create(
                app,
                SessionWrite {
                    user_id: cols.user_id,
                    state: &cols.state,
                    user_agent: &cols.user_agent,
                    ip: &cols.ip,
                },
            )
        })
        .await
        .map_err(|e| SaveError::Other(e.into()))?;
        SessionKey::try_from(token).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let cols = columns(session_state.clone()).map_err(UpdateError::Serialization)?;
        let token = session_key.as_ref().to_owned();
        let updated = crate::state::blocking(&self.app, move |app| {
            app::sessions::update(
                app,
                &token,
                SessionWrite {
                    user_id: cols.user_id,
                    state: &cols.state,
                    user_agent: &cols.user_agent,
                    ip: &cols.ip,
                },
            )
        })
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            Ok(session_key)
        } else {
            // The row was removed meanwhile (signed out elsewhere, expired): start afresh.
            self.save(session_state, ttl)
                .await
                .map_err(|e| UpdateError::Other(e.into()))
        }
    }

    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        // Idle time is extended by `app::sessions::load`, which knows the absolute limit too.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let token = session_key.as_ref().to_owned();
        crate::state::blocking(&self.app, move |app| app::sessions::delete(app, &token))
            .await
            .map_err(Into::into)
    }
}
