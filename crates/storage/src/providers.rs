//! The `workspace_email_providers` and `user_sms_providers` tables: how a workspace sends
//! email and how a user sends texts. Settings are kept as two JSON texts, the plain one and
//! the sealed one; this module never sees a secret in the clear.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{UserId, WorkspaceId};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{user_sms_providers, workspace_email_providers};
use crate::time::{from_db, to_db};

/// A provider's settings as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProvider {
    pub kind: String,
    pub config: String,
    pub secrets_enc: Option<String>,
    pub updated_at: DateTime<Utc>,
}

type Row = (String, String, Option<String>, chrono::NaiveDateTime);

fn stored((kind, config, secrets_enc, updated_at): Row) -> StoredProvider {
    StoredProvider {
        kind,
        config,
        secrets_enc,
        updated_at: from_db(updated_at),
    }
}

pub fn email(conn: &mut Conn, ws: WorkspaceId) -> Result<Option<StoredProvider>, StorageError> {
    Ok(workspace_email_providers::table
        .find(ws.0)
        .select((
            workspace_email_providers::kind,
            workspace_email_providers::config,
            workspace_email_providers::secrets_enc,
            workspace_email_providers::updated_at,
        ))
        .first::<Row>(conn)
        .optional()?
        .map(stored))
}

pub fn put_email(
    conn: &mut Conn,
    ws: WorkspaceId,
    kind: &str,
    config: &str,
    secrets_enc: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::insert_into(workspace_email_providers::table)
        .values((
            workspace_email_providers::workspace_id.eq(ws.0),
            workspace_email_providers::kind.eq(kind),
            workspace_email_providers::config.eq(config),
            workspace_email_providers::secrets_enc.eq(secrets_enc),
            workspace_email_providers::created_at.eq(to_db(now)),
            workspace_email_providers::updated_at.eq(to_db(now)),
        ))
        .on_conflict(workspace_email_providers::workspace_id)
        .do_update()
        .set((
            workspace_email_providers::kind.eq(kind),
            workspace_email_providers::config.eq(config),
            workspace_email_providers::secrets_enc.eq(secrets_enc),
            workspace_email_providers::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every workspace's email provider of some kinds (the reply reader's round).
pub fn all_email(
    conn: &mut Conn,
    kinds: &[&str],
) -> Result<Vec<(WorkspaceId, StoredProvider)>, StorageError> {
    let rows: Vec<(i64, String, String, Option<String>, chrono::NaiveDateTime)> =
        workspace_email_providers::table
            .filter(workspace_email_providers::kind.eq_any(kinds))
            .select((
                workspace_email_providers::workspace_id,
                workspace_email_providers::kind,
                workspace_email_providers::config,
                workspace_email_providers::secrets_enc,
                workspace_email_providers::updated_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(ws, kind, config, secrets, at)| {
            (WorkspaceId(ws), stored((kind, config, secrets, at)))
        })
        .collect())
}

pub fn sms(conn: &mut Conn, user: UserId) -> Result<Option<StoredProvider>, StorageError> {
    Ok(user_sms_providers::table
        .find(user.0)
        .select((
            user_sms_providers::kind,
            user_sms_providers::config,
            user_sms_providers::secrets_enc,
            user_sms_providers::updated_at,
        ))
        .first::<Row>(conn)
        .optional()?
        .map(stored))
}

/// Every user's text provider: few rows (one per person), read to find whose number a
/// webhook is about.
pub fn all_sms(conn: &mut Conn) -> Result<Vec<(UserId, StoredProvider)>, StorageError> {
    let rows: Vec<(i64, String, String, Option<String>, chrono::NaiveDateTime)> =
        user_sms_providers::table
            .select((
                user_sms_providers::user_id,
                user_sms_providers::kind,
                user_sms_providers::config,
                user_sms_providers::secrets_enc,
                user_sms_providers::updated_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, kind, config, secrets, at)| {
            (UserId(user), stored((kind, config, secrets, at)))
        })
        .collect())
}

pub fn put_sms(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
    config: &str,
    secrets_enc: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::insert_into(user_sms_providers::table)
        .values((
            user_sms_providers::user_id.eq(user.0),
            user_sms_providers::kind.eq(kind),
            user_sms_providers::config.eq(config),
            user_sms_providers::secrets_enc.eq(secrets_enc),
            user_sms_providers::created_at.eq(to_db(now)),
            user_sms_providers::updated_at.eq(to_db(now)),
        ))
        .on_conflict(user_sms_providers::user_id)
        .do_update()
        .set((
            user_sms_providers::kind.eq(kind),
            user_sms_providers::config.eq(config),
            user_sms_providers::secrets_enc.eq(secrets_enc),
            user_sms_providers::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}
