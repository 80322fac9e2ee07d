//! The `users` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::UserId;
use domain::user::{DisplayName, User, Username};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::users;
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    password_hash: String,
    totp_secret_enc: Option<String>,
    totp_last_step: Option<i64>,
    created_at: chrono::NaiveDateTime,
}

impl UserRow {
    fn into_parts(self) -> Result<(User, Credentials), StorageError> {
        let user = User {
            id: UserId(self.id),
            username: Username::parse(&self.username)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            display_name: DisplayName::parse(&self.display_name)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            totp_enabled: self.totp_secret_enc.is_some(),
            created_at: from_db(self.created_at),
        };
        let credentials = Credentials {
            password_hash: self.password_hash,
            totp_secret_enc: self.totp_secret_enc,
            totp_last_step: self.totp_last_step,
        };
        Ok((user, credentials))
    }
}

/// What is needed to check a sign-in. Only `app`'s auth module reads this.
pub struct Credentials {
    pub password_hash: String,
    pub totp_secret_enc: Option<String>,
    pub totp_last_step: Option<i64>,
}

pub fn insert(
    conn: &mut Conn,
    username: &Username,
    display_name: &DisplayName,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<User, StorageError> {
    let row: UserRow = diesel::insert_into(users::table)
        .values((
            users::username.eq(username.as_str()),
            users::display_name.eq(display_name.as_str()),
            users::password_hash.eq(password_hash),
            users::created_at.eq(to_db(now)),
            users::updated_at.eq(to_db(now)),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?;
    Ok(row.into_parts()?.0)
}

/// The oldest account: the one made at setup.
pub fn first_id(conn: &mut Conn) -> Result<Option<UserId>, StorageError> {
    let id: Option<i64> = users::table
        .order(users::id.asc())
        .select(users::id)
        .first(conn)
        .optional()?;
    Ok(id.map(UserId))
}

pub fn count(conn: &mut Conn) -> Result<i64, StorageError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn get(conn: &mut Conn, id: UserId) -> Result<User, StorageError> {
    let row: UserRow = users::table
        .find(id.0)
        .select(UserRow::as_select())
        .first(conn)?;
    Ok(row.into_parts()?.0)
}

pub fn find_by_username(
    conn: &mut Conn,
    username: &str,
) -> Result<Option<(User, Credentials)>, StorageError> {
    // The column is COLLATE NOCASE, so `eq` matches without regard to case.
    let row: Option<UserRow> = users::table
        .filter(users::username.eq(username.trim()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    row.map(UserRow::into_parts).transpose()
}

pub fn credentials(conn: &mut Conn, id: UserId) -> Result<Credentials, StorageError> {
    let row: UserRow = users::table
        .find(id.0)
        .select(UserRow::as_select())
        .first(conn)?;
    Ok(row.into_parts()?.1)
}

/// Users with these usernames, in no particular order; unknown names are left out.
pub fn find_many(conn: &mut Conn, names: &[Username]) -> Result<Vec<User>, StorageError> {
    let names: Vec<&str> = names.iter().map(Username::as_str).collect();
    let rows: Vec<UserRow> = users::table
        .filter(users::username.eq_any(names))
        .select(UserRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|r| r.into_parts().map(|p| p.0))
        .collect()
}

pub fn set_password_hash(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let n = diesel::update(users::table.find(id.0))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub fn set_display_name(
    conn: &mut Conn,
    id: UserId,
    name: &DisplayName,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(users::table.find(id.0))
        .set((
            users::display_name.eq(name.as_str()),
            users::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Turns TOTP on (with the encrypted secret) or off (`None`).
pub fn set_totp_secret(
    conn: &mut Conn,
    id: UserId,
    secret_enc: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(users::table.find(id.0))
        .set((
            users::totp_secret_enc.eq(secret_enc),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records `step` as used; returns false when it (or a later one) was already used, which is
/// how a TOTP code is kept from working twice even under concurrent requests.
pub fn claim_totp_step(conn: &mut Conn, id: UserId, step: i64) -> Result<bool, StorageError> {
    let n = diesel::update(
        users::table.find(id.0).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(n == 1)
}
