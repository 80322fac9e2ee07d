//! Users: who can sign in, and the rules for their names and passwords.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::common_passwords::is_common;
use crate::ids::UserId;
use crate::validation::{ValidationError, single_line};

/// A login name: 3 to 32 characters of letters, digits, `.`, `_` or `-`, kept as typed and
/// compared without regard to case (the database column is `COLLATE NOCASE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let len = value.chars().count();
        if !(3..=32).contains(&len) {
            return Err(ValidationError::new(
                "username",
                "Choose a username of 3 to 32 characters.",
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ValidationError::new(
                "username",
                "Use only letters, digits, dots, dashes and underscores in a username.",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name shown in the top bar and in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        single_line("display_name", "display name", raw, 80).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Long passphrases are welcome; the cap only stops absurd inputs from tying up argon2.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A password someone wants to set: long enough, not a well-known one. Never trimmed,
/// truncated or case-folded.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ValidationError::new(
                "password",
                format!(
                    "Use at least {MIN_PASSWORD_CHARS} characters; a short sentence works well."
                ),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("Use at most {MAX_PASSWORD_CHARS} characters."),
            ));
        }
        if is_common(raw) {
            return Err(ValidationError::new(
                "password",
                "This password is on lists of common passwords that attackers try first. Choose another.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// A user as the rest of the app sees it: never with the password hash or TOTP secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        let check = |raw: &str, ok: bool| assert_eq!(Username::parse(raw).is_ok(), ok, "{raw:?}");
        check("andy", true);
        check("  monalisa.r ", true);
        check("ab", false);
        check("a b c", false);
        check("x".repeat(33).as_str(), false);
        check("<script>", false);
        check("", false);
    }

    #[test]
    fn passwords_follow_asvs_length_rules() {
        let check = |raw: &str, ok: bool| {
            assert_eq!(NewPassword::parse(raw).is_ok(), ok, "{raw:?}");
        };
        check("short1!", false);
        check("eight ch", true);
        check(&"Zq9".repeat(22)[..64], true);
        check("password", false);
        check("Password1", false);
        check("12345678", false);
        check("correct horse battery staple", true);
        check(&"x".repeat(1025), false);
    }

    #[test]
    fn passwords_are_kept_exactly() {
        let raw = "  Spaces And CASE stay  ";
        assert_eq!(NewPassword::parse(raw).unwrap().expose(), raw);
    }

    #[test]
    fn display_names_are_single_lines() {
        assert!(DisplayName::parse("Andy Nguyen").is_ok());
        assert!(DisplayName::parse("Andy\r\nBcc: x").is_err());
        assert!(DisplayName::parse("   ").is_err());
    }
}
