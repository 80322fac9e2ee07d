//! API keys: created with scopes, shown once, stored as a SHA-256 hash, revocable at once.

use chrono::Utc;
use domain::api_key::{ApiKey, Scopes, parse_label};
use domain::audit::Actor;
use domain::ids::ApiKeyId;
use domain::user::User;
use storage::api_keys::{self, NewApiKey};

use crate::secrets::{random_token, sha256_hex};
use crate::{App, AppError, Caller};

/// Every key starts with this, so a leaked key is easy to recognise (and to scan for).
pub const KEY_PREFIX: &str = "pcrm_";

/// A key just made: the secret is here once and never again.
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

fn create_with(
    app: &App,
    caller: &Caller,
    label: &str,
    scopes: Scopes,
) -> Result<CreatedKey, AppError> {
    let label = parse_label(label)?;
    let secret = format!("{KEY_PREFIX}{}", random_token(32));
    let prefix: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
    let hash = sha256_hex(&secret);
    let key = app.db().write(|conn| {
        let now = Utc::now();
        let key = api_keys::insert(
            conn,
            NewApiKey {
                user_id: caller.user_id,
                label: &label,
                prefix: &prefix,
                key_hash: &hash,
                scopes: &scopes,
                now,
            },
        )?;
        storage::audit::insert(
            conn,
            &caller
                .audit("api_key.create", "api_key")
                .entity(key.id)
                .after(&key),
            now,
        )?;
        Ok::<_, AppError>(key)
    })?;
    Ok(CreatedKey { key, secret })
}

pub fn create(
    app: &App,
    caller: &Caller,
    label: &str,
    scopes: Scopes,
) -> Result<CreatedKey, AppError> {
    create_with(app, caller, label, scopes)
}

/// `pi-crm apikey create`: a key for the named user, made at the command line.
pub fn create_for_username(
    app: &App,
    username: &str,
    label: &str,
    scopes: &str,
) -> Result<CreatedKey, AppError> {
    let scopes = Scopes::parse_list(scopes)?;
    let user = crate::accounts::find_user(app, username).map_err(|e| match e {
        AppError::NotFound => AppError::Validation(domain::validation::ValidationError::new(
            "username",
            format!("There is no user named '{username}'. Add one with `pi-crm user add`."),
        )),
        other => other,
    })?;
    let caller = Caller {
        user_id: user.id,
        actor: Actor::Cli,
        ip: None,
    };
    create_with(app, &caller, label, scopes)
}

pub fn list(app: &App, caller: &Caller) -> Result<Vec<ApiKey>, AppError> {
    Ok(app
        .db()
        .read(|c| api_keys::list_for_user(c, caller.user_id))?)
}

pub fn revoke(app: &App, caller: &Caller, id: ApiKeyId) -> Result<ApiKey, AppError> {
    app.db().write(|conn| {
        let now = Utc::now();
        let before = api_keys::get_for_user(conn, caller.user_id, id)?;
        let after = api_keys::revoke(conn, caller.user_id, id, now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("api_key.revoke", "api_key")
                .entity(id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

/// The key and its user for a secret from an `Authorization` header, if it is active.
pub fn authenticate(app: &App, secret: &str) -> Result<Option<(ApiKey, User)>, AppError> {
    if !secret.starts_with(KEY_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let hash = sha256_hex(secret);
    let Some(key) = app.db().read(|c| api_keys::find_active_by_hash(c, &hash))? else {
        return Ok(None);
    };
    let user = app.db().read(|c| storage::users::get(c, key.user_id))?;
    app.db()
        .write(|c| api_keys::touch_last_used(c, key.id, Utc::now()))?;
    Ok(Some((key, user)))
}
