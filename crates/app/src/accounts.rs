//! Accounts: first-run setup, adding users, checking passwords and TOTP codes, and changing
//! what a person may change about themselves.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use domain::audit::{Actor, NewAuditEntry};
use domain::ids::UserId;
use domain::user::{DisplayName, NewPassword, User, Username};
use domain::validation::ValidationError;
use storage::users;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{App, AppError, Caller};

/// The one message for any failed sign-in: it never says which part was wrong.
pub const BAD_CREDENTIALS: &str =
    "That username and password do not match. Check both and try again.";
pub const BAD_CODE: &str =
    "That code did not work. Enter the current 6-digit code from your authenticator app.";

fn hash_password(password: &NewPassword) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

fn password_matches(hash: &str, candidate: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check against when the username is unknown, so both cases take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let filler = NewPassword::parse(&crate::secrets::random_token(24)).expect("random is long");
        hash_password(&filler).expect("hashing a fixed input works")
    })
}

/// True while the installation has no user: the browser then offers the setup page.
pub fn needs_setup(app: &App) -> Result<bool, AppError> {
    Ok(app.db().read(users::count)? == 0)
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    pub password: &'a str,
}

fn parse_new_user(input: &NewUser<'_>) -> Result<(Username, DisplayName, NewPassword), AppError> {
    let username = Username::parse(input.username)?;
    let display_name = match input.display_name.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => DisplayName::parse(name)?,
        None => DisplayName::parse(username.as_str())?,
    };
    let password = NewPassword::parse(input.password)?;
    Ok((username, display_name, password))
}

fn insert_user(
    conn: &mut storage::Conn,
    username: &Username,
    display_name: &DisplayName,
    hash: &str,
    actor: Actor,
    ip: Option<String>,
) -> Result<User, AppError> {
    let now = Utc::now();
    let user = users::insert(conn, username, display_name, hash, now).map_err(|e| match e {
        storage::StorageError::Conflict(_) => AppError::Conflict {
            field: "username",
            message: format!("The username '{username}' is taken. Choose another."),
        },
        other => other.into(),
    })?;
    storage::audit::insert(
        conn,
        &NewAuditEntry::new(actor, "user.create", "user")
            .owner(Some(user.id))
            .entity(user.id)
            .after(&user)
            .ip(ip),
        now,
    )?;
    Ok(user)
}

/// Creates the first account from the setup page. Refused once any user exists, checked in the
/// same transaction as the insert so two racing setups cannot both win.
pub fn create_first_user(
    app: &App,
    input: NewUser<'_>,
    ip: Option<String>,
) -> Result<User, AppError> {
    let (username, display_name, password) = parse_new_user(&input)?;
    let hash = hash_password(&password)?;
    app.db().write(|conn| {
        if users::count(conn)? > 0 {
            return Err(AppError::Forbidden(
                "Setup is already done. Sign in instead.".into(),
            ));
        }
        insert_user(conn, &username, &display_name, &hash, Actor::Anonymous, ip)
    })
}

/// Adds a user from the command line.
pub fn add_user(app: &App, input: NewUser<'_>) -> Result<User, AppError> {
    let (username, display_name, password) = parse_new_user(&input)?;
    let hash = hash_password(&password)?;
    app.db()
        .write(|conn| insert_user(conn, &username, &display_name, &hash, Actor::Cli, None))
}

/// The installation's administrator is the account made at setup (the oldest). Only they may
/// download backups, which hold every user's data.
pub fn is_administrator(app: &App, id: UserId) -> Result<bool, AppError> {
    Ok(app.db().read(storage::users::first_id)? == Some(id))
}

pub fn get_user(app: &App, id: UserId) -> Result<User, AppError> {
    Ok(app.db().read(|c| users::get(c, id))?)
}

pub fn find_user(app: &App, username: &str) -> Result<User, AppError> {
    app.db()
        .read(|c| users::find_by_username(c, username))?
        .map(|(user, _)| user)
        .ok_or(AppError::NotFound)
}

/// The result of a correct password.
#[derive(Debug)]
pub enum PasswordCheck {
    /// Signed in.
    Done(User),
    /// The password was right; a TOTP code is still needed.
    NeedsCode(User),
}

/// Checks a username and password. A failure is audited (without the username typed, which
/// may be a mistyped password) and always answers with [`BAD_CREDENTIALS`].
pub fn check_password(
    app: &App,
    username: &str,
    password: &str,
    ip: Option<String>,
) -> Result<PasswordCheck, AppError> {
    let found = app.db().read(|c| users::find_by_username(c, username))?;
    let (hash, user) = match &found {
        Some((user, creds)) => (creds.password_hash.as_str(), Some(user)),
        None => (dummy_hash(), None),
    };
    let ok = password_matches(hash, password);
    match (ok, user, found.as_ref()) {
        (true, Some(user), Some((_, creds))) => {
            if creds.totp_secret_enc.is_some() {
                Ok(PasswordCheck::NeedsCode(user.clone()))
            } else {
                Ok(PasswordCheck::Done(user.clone()))
            }
        }
        _ => {
            let owner = user.map(|u| u.id);
            app.db().write(|conn| {
                storage::audit::insert(
                    conn,
                    &NewAuditEntry::new(Actor::Anonymous, "auth.login_failed", "user")
                        .owner(owner)
                        .ip(ip),
                    Utc::now(),
                )
            })?;
            Err(AppError::Unauthorized(BAD_CREDENTIALS.into()))
        }
    }
}

/// Records a completed sign-in in the audit log.
pub fn record_login(app: &App, user: &User, ip: Option<String>) -> Result<(), AppError> {
    app.db().write(|conn| {
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(Actor::User { user_id: user.id }, "auth.login", "user")
                .entity(user.id)
                .ip(ip),
            Utc::now(),
        )?;
        Ok(())
    })
}

pub fn record_logout(app: &App, caller: &Caller) -> Result<(), AppError> {
    app.db().write(|conn| {
        storage::audit::insert(
            conn,
            &caller.audit("auth.logout", "user").entity(caller.user_id),
            Utc::now(),
        )?;
        Ok(())
    })
}

const TOTP_STEP: u64 = 30;

fn totp_for(secret: Vec<u8>) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, TOTP_STEP, secret)
}

/// The time step whose code is `code`, checking the current step and one either side.
fn matching_step(secret: &[u8], code: &str, now_secs: u64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp_for(secret.to_vec());
    let current = now_secs / TOTP_STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| constant_time_eq(totp.generate(step * TOTP_STEP).as_bytes(), code.as_bytes()))
        .map(|step| step as i64)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now_secs() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// Checks a TOTP code for a user who passed the password step. A code works once.
pub fn check_code(
    app: &App,
    user_id: UserId,
    code: &str,
    ip: Option<String>,
) -> Result<User, AppError> {
    let creds = app.db().read(|c| users::credentials(c, user_id))?;
    let Some(sealed) = creds.totp_secret_enc else {
        return Err(AppError::Unauthorized(BAD_CODE.into()));
    };
    let secret = app.secrets().decrypt(&sealed)?;
    let step = matching_step(&secret, code, now_secs());
    let claimed = app.db().write(|conn| {
        let claimed = match step {
            Some(step) => users::claim_totp_step(conn, user_id, step)?,
            None => false,
        };
        if claimed {
            return Ok::<_, AppError>(Some(users::get(conn, user_id)?));
        }
        // Committed, unlike an error return, so failed codes stay in the audit log.
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(Actor::Anonymous, "auth.code_failed", "user")
                .owner(Some(user_id))
                .ip(ip),
            Utc::now(),
        )?;
        Ok(None)
    })?;
    claimed.ok_or_else(|| AppError::Unauthorized(BAD_CODE.into()))
}

/// A new TOTP secret, shown to the person to add to their authenticator app.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

/// Starts setting up TOTP: needs the current password, and TOTP must be off (turning it off
/// needs the password too), so a borrowed session cannot swap someone's second factor.
pub fn begin_totp(app: &App, caller: &Caller, password: &str) -> Result<TotpEnrollment, AppError> {
    let user = get_user(app, caller.user_id)?;
    if user.totp_enabled {
        return Err(ValidationError::new(
            "current_password",
            "Two-step sign-in is already on. Turn it off first to set up a new authenticator.",
        )
        .into());
    }
    check_current_password(app, caller, password)?;
    Ok(new_enrollment(&user))
}

fn new_enrollment(user: &User) -> TotpEnrollment {
    let mut raw = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let secret_base32 = Secret::Raw(raw.to_vec()).to_encoded().to_string();
    let otpauth_uri = format!(
        "otpauth://totp/pi-crm:{}?secret={secret_base32}&issuer=pi-crm&algorithm=SHA1&digits=6&period=30",
        user.username
    );
    TotpEnrollment {
        secret_base32,
        otpauth_uri,
    }
}

/// Turns TOTP on once the person proves their app has the secret by typing a current code.
pub fn enable_totp(
    app: &App,
    caller: &Caller,
    secret_base32: &str,
    code: &str,
) -> Result<(), AppError> {
    let secret = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| ValidationError::new("code", "Start again: the setup key was not valid."))?;
    let Some(step) = matching_step(&secret, code, now_secs()) else {
        return Err(ValidationError::new("code", BAD_CODE).into());
    };
    let sealed = app.secrets().encrypt(&secret);
    app.db().write(|conn| {
        let now = Utc::now();
        users::set_totp_secret(conn, caller.user_id, Some(&sealed), now)?;
        users::claim_totp_step(conn, caller.user_id, step)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("user.totp_enable", "user")
                .entity(caller.user_id),
            now,
        )?;
        Ok(())
    })
}

fn check_current_password(app: &App, caller: &Caller, password: &str) -> Result<(), AppError> {
    let creds = app.db().read(|c| users::credentials(c, caller.user_id))?;
    if password_matches(&creds.password_hash, password) {
        Ok(())
    } else {
        Err(ValidationError::new("current_password", "That is not your current password.").into())
    }
}

/// Turns TOTP off; needs the current password.
pub fn disable_totp(app: &App, caller: &Caller, password: &str) -> Result<(), AppError> {
    check_current_password(app, caller, password)?;
    app.db().write(|conn| {
        let now = Utc::now();
        users::set_totp_secret(conn, caller.user_id, None, now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("user.totp_disable", "user")
                .entity(caller.user_id),
            now,
        )?;
        Ok(())
    })
}

/// Changes the password (the current one is required) and ends every other session.
pub fn change_password(
    app: &App,
    caller: &Caller,
    current: &str,
    new: &str,
    keep_session: Option<domain::ids::SessionId>,
) -> Result<usize, AppError> {
    check_current_password(app, caller, current)?;
    let new = NewPassword::parse(new)?;
    let hash = hash_password(&new)?;
    app.db().write(|conn| {
        let now = Utc::now();
        users::set_password_hash(conn, caller.user_id, &hash, now)?;
        let ended = storage::sessions::delete_others(conn, caller.user_id, keep_session)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("user.password_change", "user")
                .entity(caller.user_id),
            now,
        )?;
        Ok(ended)
    })
}

pub fn update_display_name(app: &App, caller: &Caller, raw: &str) -> Result<User, AppError> {
    let name = DisplayName::parse(raw)?;
    app.db().write(|conn| {
        let now = Utc::now();
        let before = users::get(conn, caller.user_id)?;
        users::set_display_name(conn, caller.user_id, &name, now)?;
        let after = users::get(conn, caller.user_id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("user.update", "user")
                .entity(caller.user_id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

/// The code an authenticator app shows for `secret_base32` at `unix_secs` (for tests and tools).
pub fn code_at(secret_base32: &str, unix_secs: u64) -> Option<String> {
    let secret = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    Some(totp_for(secret).generate(unix_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let secret = b"12345678901234567890".to_vec();
        let totp = totp_for(secret.clone());
        // RFC 6238 test vector at T=59 (SHA1): 94287082 -> last 6 digits 287082.
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(matching_step(&secret, "287082", 59), Some(1));
        assert_eq!(matching_step(&secret, "287 082", 89), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(&secret, "28708", 59), None);
        assert_eq!(matching_step(&secret, "abcdef", 59), None);
    }

    #[test]
    fn password_hashes_are_argon2id() {
        let hash = hash_password(&NewPassword::parse("correct horse battery").unwrap()).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "Correct horse battery"));
    }
}
