//! The `api_keys` table. Keys are found by the SHA-256 of the secret; the secret is not stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::api_key::{ApiKey, Scopes};
use domain::ids::{ApiKeyId, UserId};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::api_keys;
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct ApiKeyRow {
    id: i64,
    user_id: i64,
    label: String,
    prefix: String,
    scopes: String,
    created_at: chrono::NaiveDateTime,
    last_used_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

impl ApiKeyRow {
    fn into_domain(self) -> Result<ApiKey, StorageError> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            user_id: UserId(self.user_id),
            label: self.label,
            prefix: self.prefix,
            scopes: Scopes::parse_list(&self.scopes)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            created_at: from_db(self.created_at),
            last_used_at: self.last_used_at.map(from_db),
            revoked_at: self.revoked_at.map(from_db),
        })
    }
}

pub struct NewApiKey<'a> {
    pub user_id: UserId,
    pub label: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a Scopes,
    pub now: DateTime<Utc>,
}

pub fn insert(conn: &mut Conn, new: NewApiKey<'_>) -> Result<ApiKey, StorageError> {
    let row: ApiKeyRow = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(new.user_id.0),
            api_keys::label.eq(new.label),
            api_keys::prefix.eq(new.prefix),
            api_keys::key_hash.eq(new.key_hash),
            api_keys::scopes.eq(new.scopes.to_list()),
            api_keys::created_at.eq(to_db(new.now)),
        ))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)?;
    row.into_domain()
}

/// The user's keys, active first, newest first.
pub fn list_for_user(conn: &mut Conn, user_id: UserId) -> Result<Vec<ApiKey>, StorageError> {
    let rows: Vec<ApiKeyRow> = api_keys::table
        .filter(api_keys::user_id.eq(user_id.0))
        .order((api_keys::revoked_at.is_not_null(), api_keys::id.desc()))
        .select(ApiKeyRow::as_select())
        .load(conn)?;
    rows.into_iter().map(ApiKeyRow::into_domain).collect()
}

pub fn get_for_user(
    conn: &mut Conn,
    user_id: UserId,
    id: ApiKeyId,
) -> Result<ApiKey, StorageError> {
    let row: ApiKeyRow = api_keys::table
        .filter(api_keys::id.eq(id.0))
        .filter(api_keys::user_id.eq(user_id.0))
        .select(ApiKeyRow::as_select())
        .first(conn)?;
    row.into_domain()
}

/// The active (not revoked) key with this hash.
pub fn find_active_by_hash(
    conn: &mut Conn,
    key_hash: &str,
) -> Result<Option<ApiKey>, StorageError> {
    let row: Option<ApiKeyRow> = api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?;
    row.map(ApiKeyRow::into_domain).transpose()
}

pub fn revoke(
    conn: &mut Conn,
    user_id: UserId,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> Result<ApiKey, StorageError> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id.0))
            .filter(api_keys::user_id.eq(user_id.0))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(to_db(now)))
    .execute(conn)?;
    let key = get_for_user(conn, user_id, id)?;
    if n == 0 && key.revoked_at.is_none() {
        return Err(StorageError::NotFound);
    }
    Ok(key)
}

/// Records a use, at most once a minute per key so API traffic does not turn into writes.
pub fn touch_last_used(
    conn: &mut Conn,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let stale = to_db(now - chrono::Duration::seconds(60));
    diesel::update(
        api_keys::table.filter(api_keys::id.eq(id.0)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(stale)),
        ),
    )
    .set(api_keys::last_used_at.eq(to_db(now)))
    .execute(conn)?;
    Ok(())
}
