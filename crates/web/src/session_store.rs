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
/// The user who passed the password step and still owes a TOTP code.
pub const KEY_PENDING_USER: &str = "pending_uid";

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
    // A session waiting for its TOTP code belongs to that user too, so "sign out everywhere"
    // and a password change end it; only `uid` in the state signs anyone in.
    let user_id = [KEY_USER, KEY_PENDING_USER]
        .iter()
        .find_map(|key| {
            state
                .get(*key)
                .and_then(|v| serde_json::from_str::<i64>(v).ok())
        })
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
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let cols = columns(session_state).map_err(UpdateError::Serialization)?;
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
        if !updated {
            // The session was ended meanwhile (signed out elsewhere, password changed, expired).
            // Never re-create it: the key now points at nothing, so the next request is signed
            // out. Re-saving would let a stolen cookie outlive "sign out everywhere".
            tracing::info!("a request finished after its session was ended; not saving its state");
        }
        Ok(session_key)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pairs: &[(&str, &str)]) -> State {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[actix_web::test]
    async fn an_ended_session_is_never_saved_again() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(app::Settings::new(dir.path().to_owned())).unwrap();
        let user = app::accounts::add_user(
            &app,
            app::accounts::NewUser {
                username: "andy",
                display_name: None,
                password: "a long passphrase",
            },
        )
        .unwrap();
        let store = SqliteSessionStore::new(app.clone());
        let signed_in = state(&[(KEY_USER, &user.id.0.to_string())]);
        let key = store
            .save(signed_in.clone(), &Duration::hours(1))
            .await
            .unwrap();
        assert!(store.load(&key).await.unwrap().is_some());
        assert_eq!(app::sessions::list(&app, user.id).unwrap().len(), 1);

        // Signed out elsewhere, while a request of this session was still running.
        app::sessions::delete(&app, key.as_ref()).unwrap();
        let key = store
            .update(key, signed_in, &Duration::hours(1))
            .await
            .unwrap();
        assert!(
            store.load(&key).await.unwrap().is_none(),
            "the cookie signs nobody in"
        );
        assert!(
            app::sessions::list(&app, user.id).unwrap().is_empty(),
            "no session came back"
        );
    }

    #[test]
    fn pending_sessions_belong_to_their_user() {
        let cols = columns(state(&[
            (KEY_PENDING_USER, "7"),
            (KEY_USER_AGENT, "\"Firefox\""),
        ]))
        .unwrap();
        assert_eq!(cols.user_id, Some(UserId(7)));
        assert_eq!(cols.user_agent, "Firefox");
        let cols = columns(state(&[(KEY_SESSION_ID, "3")])).unwrap();
        assert_eq!(cols.user_id, None);
        assert!(
            !cols.state.contains(KEY_SESSION_ID),
            "the row id is not stored in the state"
        );
    }
}
